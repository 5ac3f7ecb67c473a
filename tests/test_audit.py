"""cdk-nag's four packs pass in every configuration, and every acknowledgement is narrow and real."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

from constructs_lib import audit
from stacks import ParallelClusterApiStack
from tests.conftest import CONFIGURATIONS, cdk_json_context, synthesize

FIXED_BY_CONSTRUCTION = audit.FIXED_BY_CONSTRUCTION
LOGGING_RULES = audit.LOGGING_RULES


def findings(configuration: str) -> tuple[list[dict], list[dict]]:
    """(violations, acknowledged violations) of every pack, one entry per construct."""
    open_, acknowledged = [], []
    for report in synthesize(configuration).validation_report["pluginReports"]:
        for kind, into in (("violations", open_), ("suppressedViolations", acknowledged)):
            for violation in report.get(kind, []):
                for construct in violation["violatingConstructs"]:
                    into.append({**violation, "constructPath": construct["constructPath"]})
    return open_, acknowledged


@pytest.mark.parametrize("configuration", sorted(CONFIGURATIONS))
def test_all_four_packs_pass(configuration):
    reports = synthesize(configuration).validation_report["pluginReports"]
    assert sorted(report["pluginName"] for report in reports) == sorted(audit.PACKS)
    assert all(report["conclusion"] == "success" for report in reports)
    assert findings(configuration)[0] == []


def test_an_unacknowledged_finding_fails_the_synth(tmp_path):
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    stack = ParallelClusterApiStack.from_app_context(app, deploy_region="eu-west-1")
    sqs.Queue(stack, "QueueWithoutDeadLetters")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    raised = {v["ruleName"] for r in report["pluginReports"] for v in r["violations"]}
    assert "Serverless-SQSRedrivePolicy" in raised


def test_packs_can_be_turned_off_by_a_user_who_must(tmp_path):
    app = cdk.App(context={**cdk_json_context(), "NagPacks": "AwsSolutions"}, outdir=str(tmp_path))
    ParallelClusterApiStack.from_app_context(app, deploy_region="eu-west-1")
    app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [r["pluginName"] for r in report["pluginReports"]] == ["AwsSolutions"]


def acknowledgements(configuration: str) -> list[tuple[str, str, str]]:
    """(construct path, rule id, reason) of every acknowledgement made in the construct tree."""
    stack = synthesize(configuration).stack
    made = []
    for construct in [stack.node.root, *stack.node.root.node.find_all()]:
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                # {rule id: reason}
                made += [(construct.node.path, rule, reason) for rule, reason in entry.data.items()]
    return made


@pytest.mark.parametrize("configuration", ["default", "locked-down", "private-no-user-role", "hardened", "no-api-logging"])
def test_acknowledgements_are_narrow_and_explained(configuration):
    stack = synthesize(configuration).stack
    made = acknowledgements(configuration)
    assert made
    for path, rule, reason in made:
        assert path not in ("", stack.node.path), f"{rule} acknowledged on the whole app or stack"
        pack, rule_name = rule.split("::", 1)
        assert pack in audit.PACKS and rule_name.startswith(pack)
        if "IAM5" in rule:
            assert "[" in rule, f"{rule}: wildcard findings are acknowledged one by one"
        assert len(reason.split()) >= 8 and reason.endswith("."), reason


@pytest.mark.parametrize("configuration", sorted(CONFIGURATIONS))
def test_every_acknowledgement_answers_a_real_finding(configuration):
    """No stale acknowledgement: each one covers a finding the packs raise in this configuration."""
    _, acknowledged = findings(configuration)
    for path, rule, _ in acknowledgements(configuration):
        covered = [f for f in acknowledged if f["acknowledgedId"] == rule and f["constructPath"].startswith(path)]
        assert covered, f"{rule} on {path} acknowledges nothing"


def test_acknowledgements_appear_in_the_template_metadata(default):
    function = default.template["Resources"]["ParallelClusterFunction"]
    acknowledged = {rule["id"]: rule["reason"] for rule in function["Metadata"]["cdk_nag"]["rules_to_suppress"]}
    assert "Serverless::Serverless-LambdaDLQ" in acknowledged
    assert "synchronously" in acknowledged["Serverless::Serverless-LambdaDLQ"]


# Configurations in which the deployer chose what a fixed rule forbids, and the rules concerned.
DEPLOYER_CHOICES = {
    "no-api-logging": LOGGING_RULES,
    "additional-policies": {"AwsSolutions-IAM4"},
    # The official layer is built for python3.12.
    "layer": {"AwsSolutions-L1"},
    "layer-custom-bucket": {"AwsSolutions-L1"},
    "parallelcluster-ui": {"AwsSolutions-L1"},
    **{name: {"AwsSolutions-L1"} for name, settings in CONFIGURATIONS.items() if settings.get("LambdaImageSource") == "layer"},
}


@pytest.mark.parametrize("rule", sorted(FIXED_BY_CONSTRUCTION))
def test_fixed_rules_raise_nothing_anywhere(rule):
    for configuration in CONFIGURATIONS:
        if rule in DEPLOYER_CHOICES.get(configuration, ()):
            continue
        open_, acknowledged = findings(configuration)
        assert not [f for f in open_ + acknowledged if f["ruleName"].split("[")[0] == rule], (configuration, rule)


def test_a_reason_must_be_a_sentence():
    with pytest.raises(ValueError, match="real sentence"):
        audit.acknowledge(cdk.Stack(), "needed", "AwsSolutions-IAM5[Resource::*]")
