"""Configuration: inheritance and merge rules, positions, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.config.loader import UnknownEnvironment, environment_names, load_environment
from generator.errors import ConfigError
from tests.conftest import ENVIRONMENTS, MINIMAL, write_tree


def error_of(config_dir: Path, env: str = "test") -> str:
    with pytest.raises(ConfigError) as caught:
        load_environment(config_dir, env)
    return caught.value.message.replace(str(config_dir) + "/", "")


def test_example_environments_are_the_non_underscore_files():
    assert environment_names(ENVIRONMENTS) == ["dev", "prod", "sandbox", "staging"]


def test_mappings_merge_key_by_key_and_lists_are_replaced(tmp_path):
    write_tree(tmp_path, {
        "_base.yaml": MINIMAL + "ecr:\n  shared_repos: [a, b]\n  image_retention: 7\n",
        "child.yaml": """\
            inherits: _base
            ecr:
              shared_repos: [c]
            teams:
              rc:
                projects:
                  fraud-detection:
                    image_retention: 3
                  new-project: {}
            """,
    })
    cfg = load_environment(tmp_path, "child").config
    assert cfg.ecr.shared_repos == ["c"]  # the child's list is the whole list
    assert cfg.ecr.image_retention == 7  # untouched keys inherited
    assert cfg.teams["rc"].projects["fraud-detection"].image_retention == 3
    assert set(cfg.teams["rc"].projects) == {"fraud-detection", "new-project"}


def test_positions_point_at_the_file_that_wrote_the_value():
    prod = load_environment(ENVIRONMENTS, "prod")
    file, line = prod.where(("teams", "rc", "projects", "fraud-detection", "image_retention"))
    assert file.endswith("prod.yaml")
    assert (ENVIRONMENTS / "prod.yaml").read_text().splitlines()[line - 1].strip().startswith("image_retention: 30")
    file, line = prod.where(("teams", "algo"))
    assert file.endswith("_shared.yaml")
    assert (ENVIRONMENTS / "_shared.yaml").read_text().splitlines()[line - 1].strip() == "algo:"


def test_prod_overrides_and_inherits():
    prod = load_environment(ENVIRONMENTS, "prod").config
    assert prod.protected is True
    assert prod.teams["rc"].projects["fraud-detection"].image_retention == 30
    assert prod.logs.retention_days.training_jobs == 90
    assert load_environment(ENVIRONMENTS, "dev").config.protected is False


def test_unknown_key_says_where_and_guesses(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL + "      anti-money-laundering:\n        image_retension: 5\n")
    assert error_of(config_dir) == (
        "test.yaml:16: teams.rc.projects.anti-money-laundering.image_retension: unknown key; "
        "did you mean 'image_retention'? (allowed: adopt_existing, create_execution_role, data_buckets, description, "
        "endpoints, execution_role, image_retention, kms_key_arns, repos, retired)"
    )


def test_missing_required_field(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL.replace('account_id: "123456789012"\n', ""))
    assert error_of(config_dir) == ("test.yaml:1: account_id: required field is missing (write it in test.yaml or "
                                    "a file it inherits)")


def test_wrong_type(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL + "ecr:\n  image_retention: ten\n")
    assert error_of(config_dir) == (
        "test.yaml:16: ecr.image_retention: Input should be a valid integer, unable to parse string as an integer"
    )


def test_account_id_written_as_a_number(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL.replace('"123456789012"', "123456789012"))
    assert error_of(config_dir) == "test.yaml:4: account_id: Input should be a valid string"


@pytest.mark.parametrize("cidr, message", [
    ("10.0.0.0/33", "'10.0.0.0/33' is not an IPv4 CIDR block ('33' is not a valid netmask)"),
    ("8.8.0.0/16", "8.8.0.0/16 is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)"),
])
def test_bad_vpc_cidr(config_dir, cidr, message):
    (config_dir / "test.yaml").write_text(MINIMAL.replace("10.0.0.0/16", cidr))
    assert error_of(config_dir) == f"test.yaml:7: network.vpc_cidr: {message}"


def test_retention_must_be_a_cloudwatch_value(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL + "logs:\n  retention_days:\n    training_jobs: 15\n")
    message = error_of(config_dir)
    assert message.startswith("test.yaml:17: logs.retention_days.training_jobs: 15 is not a CloudWatch retention (allowed: 1, 3, 5,")


def test_duplicate_key_is_an_error_not_a_silent_overwrite(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL + "  rc:\n    projects: {}\n")
    assert error_of(config_dir) == (
        "test.yaml:15: teams.rc: duplicate key (first written on line 11); YAML would silently keep only the last one"
    )


def test_yaml_syntax_error(config_dir):
    (config_dir / "test.yaml").write_text("company: [acme\n")
    assert error_of(config_dir) == "test.yaml:2: invalid YAML: while parsing a flow sequence did not find expected ',' or ']'"


def test_top_level_must_be_a_mapping(config_dir):
    (config_dir / "test.yaml").write_text("- acme\n")
    assert error_of(config_dir) == "test.yaml:1: the top level must be a mapping of settings"


def test_not_utf8(config_dir):
    (config_dir / "test.yaml").write_bytes(MINIMAL.encode() + b"# caf\xe9\n")
    assert error_of(config_dir) == "test.yaml:15: the file is not UTF-8 (byte 0xe9)"


def test_inherits_from_a_missing_parent(config_dir):
    (config_dir / "test.yaml").write_text("inherits: _nope\n" + MINIMAL)
    assert error_of(config_dir) == "test.yaml:1: inherits: inherits from '_nope', but _nope.yaml does not exist"


def test_inheritance_in_a_circle(config_dir):
    write_tree(config_dir, {"a.yaml": "inherits: b\n", "b.yaml": "inherits: a\n"})
    assert error_of(config_dir, "a") == "b.yaml:1: inherits: inheritance goes in a circle: a -> b -> a"


def test_alias_bomb_is_refused_quickly(config_dir):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]"
              for i in range(1, 10)]
    (config_dir / "test.yaml").write_text("\n".join(lines) + "\n")
    assert "expands to more than 1,000,000 values (nested aliases?)" in error_of(config_dir)


def test_unknown_environment_lists_the_known_ones(config_dir):
    with pytest.raises(UnknownEnvironment) as caught:
        load_environment(config_dir, "prod")
    assert caught.value.exit_code == 2
    assert caught.value.message == f"unknown environment 'prod' (environments in {config_dir}: test)"


def test_alarms_on_without_recipients(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL + "alarms:\n  enabled: true\n")
    assert error_of(config_dir) == (
        "test.yaml:15: alarms: alarms are enabled but nobody is notified: list at least one address in emails"
    )


@pytest.mark.parametrize("field, old, new, message", [
    ("network.vpc_id", "vpc-0123456789abcdef0", "vpc-123",
     "'vpc-123' does not match ^vpc-([0-9a-f]{8}|[0-9a-f]{17})$"),
    ("network.private_subnets.1.id", "subnet-0123456789abcdef2", "subnet-XYZ",
     "'subnet-XYZ' does not match ^subnet-([0-9a-f]{8}|[0-9a-f]{17})$"),
    ("network.route_table_ids.0", "rtb-0123456789abcdef3", "rt-0123",
     "'rt-0123' does not match ^rtb-([0-9a-f]{8}|[0-9a-f]{17})$"),
    ("account_id", '"123456789012"', '"12345"', "'12345' does not match ^[0-9]{12}$"),
    ("region", "eu-west-1", "eu-westeros-1", "unknown AWS region 'eu-westeros-1'"),
    ("teams.RC", "  rc:", "  RC:", "'RC' does not match ^[a-z0-9]+(-[a-z0-9]+)*$"),
])
def test_bad_values_are_named_exactly(config_dir, field, old, new, message):
    text = MINIMAL.replace(old, new)
    (config_dir / "test.yaml").write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if new in row)
    assert error_of(config_dir) == f"test.yaml:{line}: {field}: {message}"


# IAM's CreateRole: a role name is "upper and lowercase alphanumeric characters with no
# spaces", plus _+=,.@-, 1 to 64 of them (AWS's [\w+=,.@-] is ASCII: "rôle" fails at apply).
@pytest.mark.parametrize("role", ["rc-sagemaker", "Role_+=,.@-9", "r" * 64,
                                  "arn:aws:iam::123456789012:role/service-role/fd-role"])
def test_an_execution_role_iam_accepts(config_dir, role):
    (config_dir / "test.yaml").write_text(MINIMAL.replace("rc-sagemaker", role))
    assert load_environment(config_dir, "test").config.teams["rc"].execution_role == role


@pytest.mark.parametrize("role", ["rôle", "rc sagemaker", "r" * 65, "ＲＣ", "service-role/fd-role",
                                  "arn:aws:iam::123456789012:role/sérvice/fd-role"])
def test_an_execution_role_iam_refuses_is_named(config_dir, role):
    (config_dir / "test.yaml").write_text(MINIMAL.replace("rc-sagemaker", f"'{role}'"))
    assert error_of(config_dir).startswith(f"test.yaml:12: teams.rc.execution_role: '{role}' does not match ^")


def test_a_stage_name_that_breaks_the_ecr_pattern(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL + "ecr:\n  project_repos: [Training]\n")
    assert error_of(config_dir) == (
        "test.yaml:16: ecr.project_repos.0: 'Training' does not match ^[a-z0-9]+(-[a-z0-9]+)*$")


def test_image_retention_below_one(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL + "ecr:\n  image_retention: 0\n")
    assert error_of(config_dir) == "test.yaml:16: ecr.image_retention: Input should be greater than or equal to 1"


def test_model_package_group_over_63_characters(config_dir):
    from generator.render.templates import render

    team, project = "t" * 30, "p" * 40
    (config_dir / "test.yaml").write_text(MINIMAL.replace("  rc:", f"  {team}:").replace("fraud-detection", project)
                                          .replace("tag_prefix: acme-sm", "tag_prefix: a"))
    with pytest.raises(ConfigError) as caught:
        render(config_dir, "test")
    assert caught.value.message.endswith(
        f"test.yaml:14: teams.{team}.projects.{project}: model package group name '{team}-{project}' is 71 "
        "characters; AWS allows at most 63 (SageMaker CreateModelPackageGroup ModelPackageGroupName)")


# --- AWS's limits on what is rendered as written (botocore's models: tests/test_aws_limits.py) ---


def with_project(settings: str) -> str:
    """MINIMAL with these lines (indented as a project's settings) under fraud-detection, from line 15."""
    lines = "".join(f"        {line}\n" for line in settings.splitlines())
    return MINIMAL.replace("      fraud-detection: {}\n", "      fraud-detection:\n" + lines)


LINE_BREAK_REFUSED = ("model package group description has a line break (U+000A) at character 19, which AWS does not "
                      "allow (SageMaker CreateModelPackageGroup ModelPackageGroupDescription: pattern "
                      r"[\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*); write it on one line (a YAML | block keeps its line "
                      "breaks; >- folds them into spaces)")


def test_a_description_written_as_a_block_is_refused_at_its_line(config_dir):
    """The description becomes the model package group's: SageMaker's pattern for it has no
    control characters, so the line breaks a YAML | block keeps are refused, at its line."""
    (config_dir / "test.yaml").write_text(with_project("description: |\n  Card fraud scoring\n  for the card business"))
    assert error_of(config_dir) == f"test.yaml:15: teams.rc.projects.fraud-detection.description: {LINE_BREAK_REFUSED}"


@pytest.mark.parametrize("written, loaded", [
    ("description: >-\n  Card fraud scoring\n  for the card business", "Card fraud scoring for the card business"),
    ("description: Betrugserkennung für Karten — v2 ✓", "Betrugserkennung für Karten — v2 ✓"),
])
def test_a_description_on_one_line_in_any_script_is_allowed(config_dir, written, loaded):
    (config_dir / "test.yaml").write_text(with_project(written))
    assert load_environment(config_dir, "test").config.teams["rc"].projects["fraud-detection"].description == loaded


def test_a_description_over_1024_characters_is_refused_at_its_line(config_dir):
    (config_dir / "test.yaml").write_text(with_project("description: " + "x" * 1024))
    assert len(load_environment(config_dir, "test").config.teams["rc"].projects["fraud-detection"].description) == 1024
    (config_dir / "test.yaml").write_text(with_project("description: " + "x" * 1025))
    assert error_of(config_dir) == (
        "test.yaml:15: teams.rc.projects.fraud-detection.description: model package group description "
        f"'{'x' * 60}'... is 1,025 characters; AWS allows at most 1,024 "
        "(SageMaker CreateModelPackageGroup ModelPackageGroupDescription)")


@pytest.mark.parametrize("endpoint, line, field, message", [
    ("fraud_scoring: {}", 16, "endpoints.fraud_scoring",
     "endpoint name 'fraud_scoring' does not match AWS's pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} "
     "(SageMaker CreateEndpoint EndpointName)"),
    (f"{'e' * 64}: {{}}", 16, f"endpoints.{'e' * 64}",
     f"endpoint name '{'e' * 64}' is 64 characters; AWS allows at most 63 (SageMaker CreateEndpoint EndpointName)"),
    ("fraud-scoring:\n  variant: All_Traffic", 17, "endpoints.fraud-scoring.variant",
     "production variant name 'All_Traffic' does not match AWS's pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} "
     "(SageMaker CreateEndpointConfig VariantName)"),
])
def test_endpoint_and_variant_names_are_held_to_sagemakers_pattern(config_dir, endpoint, line, field, message):
    endpoints = "".join(f"  {text}\n" for text in endpoint.splitlines())
    (config_dir / "test.yaml").write_text(with_project("endpoints:\n" + endpoints))
    assert error_of(config_dir) == f"test.yaml:{line}: teams.rc.projects.fraud-detection.{field}: {message}"


def test_endpoint_and_variant_names_sagemaker_allows(config_dir):
    (config_dir / "test.yaml").write_text(with_project(f"endpoints:\n  {'e' * 63}:\n    variant: Variant-1"))
    endpoints = load_environment(config_dir, "test").config.teams["rc"].projects["fraud-detection"].endpoints
    assert endpoints["e" * 63].variant == "Variant-1"


ADOPTED_GROUP = ("  route_table_ids: [rtb-0123456789abcdef3]\n  adopt_existing:\n    security_groups:\n"
                 "      training:\n        id: sg-0123456789abcdef0\n        description: {}\n")


def test_an_adopted_groups_description_is_held_to_ec2s_characters(config_dir):
    """EC2 documents a group's description as up to 255 of a-z, A-Z, 0-9, spaces and
    ._-:/()#,@[]+=&;{}!$* (its model has no pattern): a description tfgen would write when it
    replaces the group must be one AWS takes."""
    (config_dir / "test.yaml").write_text(MINIMAL.replace("  route_table_ids: [rtb-0123456789abcdef3]\n",
                                                          ADOPTED_GROUP.format("Café jobs")))
    assert error_of(config_dir) == (
        "test.yaml:14: network.adopt_existing.security_groups.training.description: security group description has "
        "'é' (U+00E9, latin small letter e with acute) at character 4, which AWS does not allow (EC2 "
        "CreateSecurityGroup Description: \"Valid characters: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*\")")
    (config_dir / "test.yaml").write_text(MINIMAL.replace("  route_table_ids: [rtb-0123456789abcdef3]\n",
                                                          ADOPTED_GROUP.format('"Training jobs (legacy): v2"')))
    adopted = load_environment(config_dir, "test").config.network.adopt_existing.security_groups["training"]
    assert adopted.description == "Training jobs (legacy): v2"


def test_a_control_character(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL.replace("region:", "\x1fregion:"))
    assert error_of(config_dir) == "test.yaml:3: invalid YAML: control character U+001F is not allowed"


def test_a_switch_that_takes_true_or_a_list_names_the_bad_item(config_dir):
    """`adopt_existing` is true or a list: a bad item is named, not "should be a valid boolean"."""
    (config_dir / "test.yaml").write_text(MINIMAL.replace("fraud-detection: {}",
                                                          "fraud-detection:\n        adopt_existing: [Model]"))
    assert error_of(config_dir) == (
        "test.yaml:15: teams.rc.projects.fraud-detection.adopt_existing.0: 'Model' does not match "
        "^(model_package_group|[a-z0-9]+(-[a-z0-9]+)*)$")


def test_an_adopted_group_must_be_one_of_the_five(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL.replace(
        "  route_table_ids: [rtb-0123456789abcdef3]\n",
        "  route_table_ids: [rtb-0123456789abcdef3]\n  adopt_existing:\n    security_groups:\n"
        "      trainin: {id: sg-0123456789abcdef0}\n"))
    assert error_of(config_dir) == (
        "test.yaml:12: network.adopt_existing.security_groups.trainin: Input should be 'studio', 'vpc-endpoints', "
        "'training', 'processing' or 'inference'")


def test_every_error_is_shown_each_with_its_line(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL.replace("eu-west-1", "eu-westeros-1")
                                          + "ecr:\n  image_retention: 0\nlogs:\n  retention_days:\n    endpoints: 15\n")
    assert error_of(config_dir).splitlines() == [
        "3 errors in the configuration:",
        "  test.yaml:3: region: unknown AWS region 'eu-westeros-1'",
        "  test.yaml:16: ecr.image_retention: Input should be greater than or equal to 1",
        "  test.yaml:19: logs.retention_days.endpoints: 15 is not a CloudWatch retention (allowed: 1, 3, 5, 7, 14, 30, "
        "60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)",
    ]


def test_an_empty_file_is_named_where_it_is(config_dir):
    (config_dir / "test.yaml").write_text("# nothing yet\n")
    assert error_of(config_dir).startswith("test.yaml:1: the file is empty")
    (config_dir / "_shared.yaml").write_text("")
    (config_dir / "test.yaml").write_text("inherits: _shared\n" + MINIMAL)
    assert error_of(config_dir).startswith("_shared.yaml:1: the file is empty")  # not an error of test.yaml


def test_a_build_prefix_a_release_tag_could_also_start_with_is_refused(config_dir):
    """ECR matches a prefix against the start of any tag: `build-` under a release prefix `b`
    would make every build a release, kept up to release_images_kept; a build prefix `rel`
    would count every `release-` image among the builds."""
    (config_dir / "test.yaml").write_text(MINIMAL + "ecr:\n  release_tag_prefixes: [b]\n")
    assert error_of(config_dir).startswith("test.yaml:15: ecr: 'build-' and the release prefix 'b': a tag could "
                                           "start with both")
    (config_dir / "test.yaml").write_text(MINIMAL + "ecr:\n  build_tag_prefix: rel\n")
    assert error_of(config_dir).startswith("test.yaml:16: ecr.build_tag_prefix: 'rel' and the release prefix "
                                           "'release-': a tag could start with both")


# --- a check on two values, each perhaps written in another file of the chain -------------------

SHARED_ALARMS = MINIMAL + """\
alarms:
  enabled: true
  emails: [ml-platform@acme.example]
  evaluation_periods: 3
"""


def line_of(text: str, written: str, after: str = "") -> int:
    """The line (from 1) of the first line that is `written` (stripped), after the line `after` if given."""
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index(after) + 1 if after else 0
    return lines.index(written, start) + 1


def test_datapoints_above_periods_is_named_where_datapoints_was_written(tmp_path):
    """datapoints_to_alarm in prod.yaml, evaluation_periods in _shared.yaml: the error is at the first's line
    (not prod.yaml's `alarms:`), and says where the second was written."""
    prod = "inherits: _shared\nalarms:\n  emails: [oncall@acme.example]\n  datapoints_to_alarm: 4\n"
    write_tree(tmp_path, {"_shared.yaml": SHARED_ALARMS, "prod.yaml": prod})
    assert error_of(tmp_path, "prod") == (
        f"prod.yaml:{line_of(prod, 'datapoints_to_alarm: 4')}: alarms.datapoints_to_alarm: datapoints_to_alarm (4) "
        "is more than evaluation_periods (3): the alarm could never fire (evaluation_periods is written at "
        f"_shared.yaml:{line_of(SHARED_ALARMS, 'evaluation_periods: 3')})")


def test_periods_lowered_below_inherited_datapoints_names_both_lines(tmp_path):
    """The other way round: datapoints_to_alarm inherited, evaluation_periods lowered in prod.yaml."""
    shared = SHARED_ALARMS + "  datapoints_to_alarm: 2\n"
    prod = "inherits: _shared\nalarms:\n  evaluation_periods: 1\n"
    write_tree(tmp_path, {"_shared.yaml": shared, "prod.yaml": prod})
    assert error_of(tmp_path, "prod") == (
        f"_shared.yaml:{line_of(shared, 'datapoints_to_alarm: 2')}: alarms.datapoints_to_alarm: datapoints_to_alarm "
        "(2) is more than evaluation_periods (1): the alarm could never fire (evaluation_periods is written at "
        f"prod.yaml:{line_of(prod, 'evaluation_periods: 1')})")


def test_datapoints_above_the_default_periods_says_the_default(config_dir):
    text = MINIMAL + "alarms:\n  datapoints_to_alarm: 5\n"
    (config_dir / "test.yaml").write_text(text)
    assert error_of(config_dir) == (
        f"test.yaml:{line_of(text, 'datapoints_to_alarm: 5')}: alarms.datapoints_to_alarm: datapoints_to_alarm (5) "
        "is more than evaluation_periods (3): the alarm could never fire (evaluation_periods is not written: "
        "its default)")


SHARED_ENDPOINTS = MINIMAL.replace("      fraud-detection: {}\n", """\
      fraud-detection:
        endpoints:
          scoring: {}
""") + """\
  algo:
    execution_role: algo-sagemaker
    projects:
      recs: {}
"""


def rendering_error(config_dir: Path, env: str) -> str:
    from generator.render.templates import render

    with pytest.raises(ConfigError) as caught:
        render(config_dir, env)
    return caught.value.message.replace(str(config_dir) + "/", "")


def test_a_duplicate_endpoint_is_named_where_the_second_was_declared(tmp_path):
    """rc/fraud-detection declares `scoring` in _shared.yaml; prod.yaml gives algo/recs one of the same
    name: prod.yaml's line is the one to change, and the error names the other declaration's."""
    prod = ("inherits: _shared\nteams:\n  algo:\n    projects:\n      recs:\n        endpoints:\n"
            "          scoring: {}\n")
    write_tree(tmp_path, {"_shared.yaml": SHARED_ENDPOINTS, "prod.yaml": prod})
    assert rendering_error(tmp_path, "prod") == (
        f"prod.yaml:{line_of(prod, 'scoring: {}')}: teams.algo.projects.recs.endpoints.scoring: endpoint 'scoring' "
        f"is also declared by rc/fraud-detection (_shared.yaml:{line_of(SHARED_ENDPOINTS, 'scoring: {}')}); "
        "endpoint names are unique per account and region")


def test_a_duplicate_endpoint_tuned_in_the_child_is_named_where_it_was_declared(tmp_path):
    """Both declared in _shared.yaml, and prod.yaml only tunes rc's: the error names the declarations
    in _shared.yaml (the second, pointing at the first), never prod.yaml's tuning line."""
    shared = SHARED_ENDPOINTS.replace("      recs: {}\n", "      recs:\n        endpoints:\n          scoring: {}\n")
    prod = ("inherits: _shared\nteams:\n  rc:\n    projects:\n      fraud-detection:\n        endpoints:\n"
            "          scoring:\n            p99_latency_ms: 200\n")
    write_tree(tmp_path, {"_shared.yaml": shared, "prod.yaml": prod})
    first, second = line_of(shared, "scoring: {}"), line_of(shared, "scoring: {}", after="recs:")
    assert rendering_error(tmp_path, "prod") == (
        f"_shared.yaml:{second}: teams.algo.projects.recs.endpoints.scoring: endpoint 'scoring' is also declared "
        f"by rc/fraud-detection (_shared.yaml:{first}); endpoint names are unique per account and region")


def test_where_a_key_was_declared_survives_a_three_file_chain(tmp_path):
    """_base declares the project, _mid and prod each write it again to change a value: it was declared in
    _base; each value is where it was last written; a mapping replaced by a child is the child's."""
    base = MINIMAL
    mid = "inherits: _base\nteams:\n  rc:\n    projects:\n      fraud-detection:\n        image_retention: 4\n"
    prod = ("inherits: _mid\nteams:\n  rc:\n    projects:\n      fraud-detection:\n        image_retention: 5\n"
            "network:\n  adopt_existing: {}\n")
    write_tree(tmp_path, {"_base.yaml": base, "_mid.yaml": mid, "prod.yaml": prod})
    loaded = load_environment(tmp_path, "prod")
    project = ("teams", "rc", "projects", "fraud-detection")
    assert loaded.declared_at(project) == (str(tmp_path / "_base.yaml"), line_of(base, "fraud-detection: {}"))
    assert loaded.where(project + ("image_retention",)) == (str(tmp_path / "prod.yaml"),
                                                            line_of(prod, "image_retention: 5"))
    assert loaded.declared_at(("network",)) == (str(tmp_path / "_base.yaml"), line_of(base, "network:"))
    assert loaded.chain == tuple(str(tmp_path / f) for f in ("prod.yaml", "_mid.yaml", "_base.yaml"))


def test_a_team_named_platform_is_refused_at_its_line(config_dir):
    # out/ENV/platform is the platform's root, `Team = platform` tags its resources, and ENV-platform is
    # its Atlantis project: a team by that name would share all three.
    (config_dir / "test.yaml").write_text(MINIMAL.replace("  rc:", "  platform:"))
    assert error_of(config_dir) == (
        "test.yaml:11: teams.platform: 'platform' names the environment's platform root and its resources' "
        "Team tag: give the team another name")
