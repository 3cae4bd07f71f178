"""tfgen preflight: the plan's "before" checklist, against the live account, read-only.

The plan puts the workload layer on a VPC, subnets and execution roles that exist
already, in an account where jobs may already have run. Before the first apply this
checks that the network is what the YAML says and can carry private endpoints, that the
roles exist and trust SageMaker, and finds everything that exists already and would make
the apply fail, with the YAML switch that adopts it, and asks the account's IAM simulator
whether each existing role, with tfgen's policies on it, allows what its jobs do. Only
Describe/Get/List calls and iam:SimulatePrincipalPolicy, which changes nothing, through the
environment's session (generator/account/session.py: the account is guarded before anything
is read); one result a check, PASS, WARN or FAIL with its fix (generator/account/report.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

from generator.config import aws_limits
from generator.design.model import Design
from generator.design.iam import role_policy_characters
from generator.design.model import ProjectDesign, SecurityGroup
from generator.account.report import FAIL, PASS, WARN, Report, Result, under
from generator.account.report import switch as _set
from generator.account.zones import endpoint_zones, subnet_zones
from generator.account.session import aws_error, opened
from generator.design.rule_key import designed_rule_key, live_rule_key
from generator.design.rule_key import describe as describe_rule

NEEDS = "preflight needs read access: ec2, iam, ecr, sagemaker, logs Describe/Get/List, and iam:SimulatePrincipalPolicy"
MANAGED = "exists, managed by tfgen for this environment (its ManagedBy and Environment tags)"
GONE = ("deleted", "deleting", "rejected", "failed", "expired")


def preflight(the_design: Design, boto_session=None) -> Report:
    with opened(the_design, NEEDS, boto_session) as aws:
        ec2 = aws.client("ec2")
        results = under("network", _network(the_design, ec2))
        results += under("iam", _roles(the_design, aws.client("iam")))
        results += under("network", _security_groups(the_design, ec2))
        results += under("network", _endpoints(the_design, ec2))
        results += under("network", endpoint_zones(the_design, ec2))
        results += _project_resources(the_design, aws.client("ecr"), aws.client("sagemaker"))
        results += under("logs", _log_groups(the_design, aws.client("logs")))
    return aws.report("preflight", results)


# --- network -----------------------------------------------------------------------------


def _network(d: Design, ec2) -> Iterator[Result]:
    net = d.config.network
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [net.vpc_id]}])["Vpcs"]
    if not vpcs:
        yield Result("vpc", FAIL, f"{net.vpc_id} does not exist in {d.config.account_id}/{d.config.region}",
                    "set network.vpc_id to the VPC the workloads run in")
        return
    cidrs = [a["CidrBlock"] for a in vpcs[0].get("CidrBlockAssociationSet", [])
             if a.get("CidrBlockState", {}).get("State", "associated") == "associated"] or [vpcs[0]["CidrBlock"]]
    if net.vpc_cidr in cidrs:
        yield Result("vpc", PASS, f"{net.vpc_id} with {', '.join(cidrs)}")
    else:
        yield Result("vpc", FAIL, f"{net.vpc_id} has {', '.join(cidrs)}, the YAML says {net.vpc_cidr}",
                    f"set network.vpc_cidr to {cidrs[0]} (the groups' rules allow the VPC's CIDR)")
    dns = {attribute: ec2.describe_vpc_attribute(VpcId=net.vpc_id, Attribute=attribute)[key]["Value"]
           for attribute, key in (("enableDnsSupport", "EnableDnsSupport"),
                                  ("enableDnsHostnames", "EnableDnsHostnames"))}
    off = [a for a, on in dns.items() if not on]
    if off:
        yield Result("vpc dns", FAIL, f"{', '.join(off)} off: interface endpoints with private DNS need both on",
                    " && ".join(f"aws ec2 modify-vpc-attribute --vpc-id {net.vpc_id} --{_dashed(a)} "
                                "'{\"Value\":true}'" for a in off))
    else:
        yield Result("vpc dns", PASS, "enableDnsSupport and enableDnsHostnames on")
    yield from _subnets(d, ec2)


def _dashed(attribute: str) -> str:
    return {"enableDnsSupport": "enable-dns-support", "enableDnsHostnames": "enable-dns-hostnames"}[attribute]


def _subnets(d: Design, ec2) -> Iterator[Result]:
    net = d.config.network
    found = {s["SubnetId"]: s for s in ec2.describe_subnets(
        Filters=[{"Name": "subnet-id", "Values": list(net.subnet_ids)}])["Subnets"]}
    missing = [s for s in net.subnet_ids if s not in found]
    elsewhere = [s for s, subnet in found.items() if subnet["VpcId"] != net.vpc_id]
    if missing or elsewhere:
        problems = ([f"{', '.join(missing)} not found"] if missing else []) + \
                   ([f"{', '.join(elsewhere)} not in {net.vpc_id}"] if elsewhere else [])
        yield Result("subnets", FAIL, "; ".join(problems), "correct network.private_subnets")
    yield from subnet_zones(d, {s: subnet for s, subnet in found.items() if s not in elsewhere})
    zones = sorted({s["AvailabilityZone"] for s in found.values() if s["VpcId"] == net.vpc_id})
    if len(zones) < 2:
        yield Result("subnets across zones", FAIL,
                    f"the private subnets are in {len(zones)} availability zone{'' if len(zones) == 1 else 's'} "
                    f"({', '.join(zones) or 'none'}): distributed training fails when the zone does",
                    "add a private subnet in another zone to network.private_subnets")
    else:
        yield Result("subnets across zones", PASS, f"{len(found)} subnets in {len(zones)} zones ({', '.join(zones)})")
    yield from _route_tables(d, ec2, [s for s in net.subnet_ids if s in found and s not in elsewhere])


def _route_tables(d: Design, ec2, subnets: list[str]) -> Iterator[Result]:
    net = d.config.network
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [net.vpc_id]}])["RouteTables"]
    main = next((t["RouteTableId"] for t in tables for a in t.get("Associations", []) if a.get("Main")), None)
    explicit = {a["SubnetId"]: t["RouteTableId"] for t in tables for a in t.get("Associations", [])
                if a.get("SubnetId")}
    used = {s: explicit.get(s, main) for s in subnets}  # a subnet with no association uses the main table
    yaml_tables = set(net.route_table_ids)
    unknown = sorted(yaml_tables - {t["RouteTableId"] for t in tables})
    if unknown:
        yield Result("route tables", FAIL, f"{', '.join(unknown)} not found in {net.vpc_id}",
                    "correct network.route_table_ids")
    outside = {s: t for s, t in used.items() if t not in yaml_tables}
    for subnet, table in sorted(outside.items()):
        yield Result(f"route table of {subnet}", FAIL,
                    f"{subnet} routes through {table or 'no table'}, which network.route_table_ids does not name: "
                    "its jobs get no S3 gateway route", f"add {table} to network.route_table_ids")
    unused = sorted(yaml_tables - set(used.values()) - set(unknown))
    for table in unused:
        yield Result(f"route table {table}", WARN, "no private subnet of the YAML routes through it",
                    "remove it from network.route_table_ids unless other subnets need the S3 gateway")
    if not unknown and not outside:
        yield Result("route tables", PASS, f"every private subnet routes through one of {', '.join(sorted(yaml_tables))}")


# --- roles -------------------------------------------------------------------------------


def _projects(d: Design) -> list[ProjectDesign]:
    return [p for t in d.teams for p in t.projects]


def _trusts_sagemaker(document: object) -> bool:
    doc = json.loads(document) if isinstance(document, str) else document or {}
    for statement in _as_list(doc.get("Statement")):
        if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in _as_list(statement.get("Action")):
            continue
        principal = statement.get("Principal") or {}
        if "sagemaker.amazonaws.com" in _as_list(principal.get("Service") if isinstance(principal, dict) else None):
            return True
    return False


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _roles(d: Design, iam) -> Iterator[Result]:
    tables = None
    seen: dict[str, list[ProjectDesign]] = {}
    for project in _projects(d):
        seen.setdefault(project.role.name, []).append(project)
    for name, projects in sorted(seen.items()):
        role = projects[0].role
        users = ", ".join(f"{p.team}/{p.name}" for p in projects)
        try:
            live = iam.get_role(RoleName=name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            live = None
        where = ".".join(role.yaml_path)
        if role.create:
            if live is None:
                yield Result(f"execution role {name}", PASS, f"does not exist yet; tfgen creates it for {users}")
            elif _managed(d, live.get("Tags")):
                yield Result(f"execution role {name}", PASS, MANAGED)
            else:
                yield Result(f"execution role {name}", FAIL, f"exists already ({live['Arn']}): creating it fails",
                            f"replace {where} with execution_role: {live['Arn']}")
        elif live is None:
            yield Result(f"execution role {name}", FAIL, f"not found; {users} run as it",
                        f"create the role, or name the existing one in {where}")
        elif not _trusts_sagemaker(live.get("AssumeRolePolicyDocument")):
            yield Result(f"execution role {name}", FAIL, "does not trust sagemaker.amazonaws.com: jobs cannot run as it",
                        "add sagemaker.amazonaws.com (sts:AssumeRole) to its trust policy")
        else:
            yield _inline_policy_room(iam, name, projects, users)
            if tables is None:  # once per run: every role's requests, from the YAML
                from policies.expected import Expected, role_intents
                tables = role_intents(Expected(d.env, d.config))
            yield from _simulated(d, iam, live, projects, users, tables.get(name))


def _simulated(d: Design, iam, live: dict, projects: list[ProjectDesign], users: str, table) -> Iterator[Result]:
    """The requests the plan's jobs make, asked of the account's IAM simulator as if tfgen's
    policies were on the role already: the role's own policies, its permissions boundary or
    an SCP may refuse what tfgen grants (a FAIL each), or the role's own policies may reach
    other projects' groups (one WARN)."""
    import botocore.exceptions

    from generator.design.iam import policy_document
    from generator.account.simulation import reaching_others, simulate

    name = live["RoleName"]
    if table is None:
        return
    ours = tuple(policy_document(policy) for project in projects for policy in project.policies)
    try:
        outcomes = simulate(iam, table, d.config.region, live["Arn"], extra_policies=ours)
    except botocore.exceptions.ClientError as exc:
        yield Result(f"role {name} simulated", FAIL, f"cannot simulate: {aws_error(exc)}",
                    f"grant iam:SimulatePrincipalPolicy on {live['Arn']} (or run preflight with ReadOnlyAccess)")
        return
    wrong = [o for o in outcomes if not o.as_intended]
    for outcome in (o for o in wrong if o.intent.allowed):
        where = outcome.matched or outcome.refused_by
        fix = (f"lift the deny in {where} for {outcome.intent.resource}" if outcome.decision == "explicitly denied"
               else f"{where} does not allow it: widen it for {outcome.intent.resource}" if where
               else "nothing on the role allows it: a bug in tfgen's policies, or a boundary or SCP the simulator "
                    "names no further")
        yield Result(f"role {name}: {outcome.intent.action} on {outcome.intent.resource}", FAIL,
                    outcome.describe(name), fix)
    reaching = [o for o in wrong if not o.intent.allowed]
    if reaching:
        yield Result(f"role {name}: other projects' requests", WARN,
                    reaching_others(reaching, name),
                    f"narrow {reaching[0].matched or 'its own policies'} if {users} must be kept from other projects")
    if not wrong:
        allowed = sum(o.intent.allowed for o in outcomes)
        yield Result(f"role {name} simulated", PASS,
                    f"with tfgen's policies, {allowed} requests of {users}'s jobs allowed and "
                    f"{len(outcomes) - allowed} of other projects refused (iam:SimulatePrincipalPolicy)")


def _inline_policy_room(iam, name: str, projects: list[ProjectDesign], users: str) -> Result:
    """IAM holds a role's inline policies, all together, to 10,240 characters: the role's own
    count with tfgen's (a policy of tfgen's name already on it is replaced, not added)."""
    ours = {policy.name for project in projects for policy in project.policies}
    own = [policy for page in iam.get_paginator("list_role_policies").paginate(RoleName=name)
           for policy in page["PolicyNames"] if policy not in ours]
    own_size = sum(aws_limits.policy_characters(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])
                   for policy in own)
    planned = role_policy_characters(projects)[name]
    total, limit = own_size + planned, aws_limits.ROLE_INLINE_POLICIES_MAX
    sizes = (f"inline policies {total:,} characters of IAM's {limit:,} ({own_size:,} in {len(own)} of its own, "
             f"{planned:,} of tfgen's; white space not counted)")
    if total > limit:
        move = f"move its own inline policies ({', '.join(own)}) into managed policies, or " if own else ""
        return Result(f"execution role {name}", FAIL, f"trusts SageMaker, but {sizes}: apply would fail part-way",
                     f"{move}give some of {users} an execution_role of their own")
    return Result(f"execution role {name}", PASS, f"exists and trusts SageMaker; used by {users}; {sizes}")


# --- what exists already -----------------------------------------------------------------


def _security_groups(d: Design, ec2) -> Iterator[Result]:
    cfg = d.config
    adopted = cfg.network.adopt_existing.security_groups
    names = [g.name for g in d.platform.security_groups]
    live = {g["GroupName"]: g for g in ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [cfg.network.vpc_id]}, {"Name": "group-name", "Values": names}]
    )["SecurityGroups"]}
    for group in d.platform.security_groups:
        label, choice = f"security group {group.name}", adopted.get(group.role)
        path = ("network", "adopt_existing", "security_groups", group.role)
        found = live.get(group.name)
        if found is None:
            if choice:
                yield Result(label, FAIL, f"adopted in the YAML ({choice.id}) but not found in {cfg.network.vpc_id}",
                            f"remove {'.'.join(path)}")
            else:
                yield Result(label, PASS, "does not exist yet")
            continue
        if choice is None and _managed(d, found.get("Tags")):
            yield Result(label, PASS, f"{MANAGED}: {found['GroupId']}")
            continue
        rules = ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [found["GroupId"]]}])["SecurityGroupRules"]
        yield from _adopted_group(group, found["GroupId"], found.get("Description", ""), rules, choice, path, label)


def _adopted_group(group: SecurityGroup, group_id: str, found_description: str, rules: list[dict], choice,
                   path: tuple[str, ...], label: str) -> Iterator[Result]:
    designed = {designed_rule_key(r): r for r in group.rules}
    matching = {designed[live_rule_key(r, group_id)].key: r["SecurityGroupRuleId"] for r in rules
                if live_rule_key(r, group_id) in designed}
    extra = [r for r in rules if live_rule_key(r, group_id) not in designed]
    wanted: dict = {"id": group_id, "rules": dict(sorted(matching.items()))}
    if found_description != group.description or (choice and choice.description is not None):
        wanted["description"] = found_description  # keeping it spares the group a replacement
    have: dict | None = {"id": choice.id, "rules": dict(sorted(choice.rules.items()))} if choice else None
    if choice and choice.description is not None:
        have["description"] = choice.description
    if have != wanted:
        yield _set(label, FAIL, f"exists ({group_id}, {len(rules)} rules): creating it fails", path, wanted)
    else:
        yield Result(label, PASS, f"exists ({group_id}); adopted with {len(matching)} of its rules")
    for rule in extra:
        yield Result(f"{label} rule {rule['SecurityGroupRuleId']}", FAIL,
                    f"{describe_rule(live_rule_key(rule, group_id))} is not in the design: verify would report it",
                    f"revoke it: aws ec2 revoke-security-group-{'egress' if rule['IsEgress'] else 'ingress'} "
                    f"--group-id {group_id} --security-group-rule-ids {rule['SecurityGroupRuleId']}")


def _endpoints(d: Design, ec2) -> Iterator[Result]:
    cfg = d.config
    adopted = cfg.network.adopt_existing.vpc_endpoints
    live = [e for e in ec2.describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [cfg.network.vpc_id]}])["VpcEndpoints"]
        if e.get("State", "available").lower() not in GONE]
    tables = set(cfg.network.route_table_ids)
    wanted = [("s3", d.platform.gateway_endpoint.service_name, "Gateway")] + \
             [(e.name, e.service_name, "Interface") for e in d.platform.interface_endpoints]
    for name, service, kind in wanted:
        label, path = f"endpoint {name}", ("network", "adopt_existing", "vpc_endpoints", name)
        same = [e for e in live if e["ServiceName"] == service and e["VpcEndpointType"] == kind]
        if kind == "Gateway":
            clashing = [e for e in same if tables & set(e.get("RouteTableIds", []))]
        else:
            clashing = [e for e in same if e.get("PrivateDnsEnabled")]
        choice = adopted.get(name)
        if choice and choice not in {e["VpcEndpointId"] for e in same}:
            yield Result(label, FAIL, f"adopted in the YAML ({choice}) but no {kind.lower()} endpoint {choice} for "
                                     f"{service} is in {cfg.network.vpc_id}", f"remove {'.'.join(path)}")
        elif choice:
            endpoint = next(e for e in same if e["VpcEndpointId"] == choice)
            others = sorted(set(endpoint.get("RouteTableIds", [])) - tables)
            if others:
                yield Result(label, WARN, f"{choice} is adopted; it is also on {', '.join(others)}, which lose "
                                         "their S3 route when apply sets network.route_table_ids",
                            "add them to network.route_table_ids if their subnets need S3")
            else:
                yield Result(label, PASS, f"{choice} exists and is adopted")
        elif clashing and all(_managed(d, e.get("Tags")) for e in clashing):
            yield Result(label, PASS, f"{MANAGED}: {clashing[0]['VpcEndpointId']}")
        elif clashing:
            why = ("already routes S3 for " + ", ".join(sorted(tables & set(clashing[0].get("RouteTableIds", []))))
                   if kind == "Gateway" else "has private DNS: AWS refuses a second one (conflicting DNS domain)")
            yield _set(label, FAIL, f"{clashing[0]['VpcEndpointId']} {why}", path, clashing[0]["VpcEndpointId"])
        elif same and kind == "Gateway":  # another S3 gateway serving other route tables: AWS allows both
            yield Result(label, PASS, f"{same[0]['VpcEndpointId']} serves other route tables; tfgen adds one for "
                                     "network.route_table_ids")
        elif same:
            yield _set(label, WARN, f"{same[0]['VpcEndpointId']} exists without private DNS: tfgen would add a "
                                    "second endpoint; adopting it is cleaner", path, same[0]["VpcEndpointId"])
        else:
            yield Result(label, PASS, "does not exist yet")


def _managed(d: Design, tags: object) -> bool:
    """Made by an earlier apply of this environment: the provider's default tags say so."""
    if isinstance(tags, list):  # EC2 and SageMaker give [{"Key": ..., "Value": ...}]
        tags = {t.get("Key"): t.get("Value") for t in tags}
    return isinstance(tags, dict) and tags.get("ManagedBy") == "tfgen" and tags.get("Environment") == d.env


def _adoption(label: str, exists: bool, adopted: bool, path: tuple[str, ...], value: object, what: str,
              managed: bool, module: str) -> Result:
    return replace(_adopted(label, exists, adopted, path, value, what, managed), module=module)


def _adopted(label: str, exists: bool, adopted: bool, path: tuple[str, ...], value: object, what: str,
             managed: bool) -> Result:
    if exists and adopted:
        return Result(label, PASS, "exists and is adopted")
    if exists and managed:
        return Result(label, PASS, MANAGED)
    if exists:
        return _set(label, FAIL, f"exists already: creating it fails ({what})", path, value)
    if adopted:
        return _set(label, FAIL, "adopted in the YAML but does not exist: the import would fail", path, value)
    return Result(label, PASS, "does not exist yet")


def _imported(d: Design) -> set[str]:
    """Import ids of every resource the YAML adopts."""
    return {i for _, i in d.platform.imports} | {i for p in _projects(d) for _, i in p.imports}


def _project_resources(d: Design, ecr, sagemaker) -> Iterator[Result]:
    """Repositories and model package groups: what exists, and the adopt_existing list that names exactly it."""
    repo_arns: dict[str, str] = {}
    if d.config.ecr.enabled:
        for page in ecr.get_paginator("describe_repositories").paginate():
            repo_arns |= {r["repositoryName"]: r["repositoryArn"] for r in page["repositories"]}
    group_arns: dict[str, str] = {}
    for page in sagemaker.get_paginator("list_model_package_groups").paginate():
        group_arns |= {g["ModelPackageGroupName"]: g["ModelPackageGroupArn"]
                       for g in page["ModelPackageGroupSummaryList"]}
    repos, groups = set(repo_arns), set(group_arns)
    imported = _imported(d)

    def repo_managed(name: str) -> bool:
        return name in repo_arns and _managed(d, ecr.list_tags_for_resource(resourceArn=repo_arns[name])["tags"])

    def group_managed(name: str) -> bool:
        return name in group_arns and _managed(d, sagemaker.list_tags(ResourceArn=group_arns[name])["Tags"])

    shared = [short for r, short in zip(d.platform.shared_repositories, d.config.ecr.shared_repos) if r.name in repos]
    for repo in d.platform.shared_repositories:
        yield _adoption(f"repository {repo.name}", repo.name in repos, repo.name in imported,
                        ("ecr", "adopt_existing_shared_repos"), shared, "its images would stay, unmanaged",
                        repo_managed(repo.name), "ecr")
    for project in _projects(d):
        cfg = d.config.teams[project.team].projects[project.name]
        stages = cfg.repos if cfg.repos is not None else d.config.ecr.project_repos
        parts = (["model_package_group"] if project.model_package_group in groups else []) + \
                [stage for repo, stage in zip(project.repositories, stages) if repo.name in repos]
        path = ("teams", project.team, "projects", project.name, "adopt_existing")
        for repo in project.repositories:
            yield _adoption(f"repository {repo.name}", repo.name in repos, repo.name in imported, path, parts,
                            "its images would stay, unmanaged", repo_managed(repo.name), "ecr")
        name = project.model_package_group
        yield _adoption(f"model package group {name}", name in groups, name in imported, path, parts,
                        "the plan's name clash", group_managed(name), "registry")


def _log_groups(d: Design, logs) -> Iterator[Result]:
    live: set[str] = set()
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="/aws/sagemaker/"):
        live |= {g["logGroupName"] for g in page["logGroups"]}
    imported = _imported(d)

    def managed(name: str) -> bool:
        return name in live and _managed(d, logs.list_tags_log_group(logGroupName=name).get("tags"))

    jobs = [g.id for g in d.platform.log_groups if g.name in live]
    for group in d.platform.log_groups:
        yield _adoption(f"log group {group.name}", group.name in live, group.name in imported,
                        ("logs", "adopt_existing_job_log_groups"), jobs, "SageMaker made it at the first job",
                        managed(group.name), "logs")
    for project in _projects(d):
        for endpoint in project.endpoints:
            path = ("teams", project.team, "projects", project.name, "endpoints", endpoint.name,
                    "adopt_existing_log_group")
            yield _adoption(f"log group {endpoint.log_group}", endpoint.log_group in live,
                            endpoint.log_group in imported, path, endpoint.log_group in live, "the endpoint exists",
                            managed(endpoint.log_group), "logs")

