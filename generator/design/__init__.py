"""What an environment's configuration means in AWS terms: every name, rule and document.

The templates only lay these values out as HCL; all decisions (names, rule sets, ARNs,
thresholds, sorting) are made here, in Python, where they can be read and tested:
`builder.design(loaded)` composes what `network` (security groups, VPC endpoints),
`repositories` (ECR, lifecycle), `iam` (policies, execution roles), `monitoring` (logs,
alarms, topic, event rules) and `naming` (labels, AWS names, their limits) decide into the
dataclasses of `model`; `rule_key` is one shape of a security group rule for every reader.

Nothing is imported here: a reader of rule keys (the gate) does not pay for the builder.
"""

