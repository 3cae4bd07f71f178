"""The AWS sandbox: moto server in-process, the network the plan takes as given, and
terraform run against it. Used by `make demo` and by the lifecycle tests; the rendered
Terraform is the same that applies to a real account (the emulator is reached through
AWS_ENDPOINT_URL only).
"""
