"""The operations the release really performs are allowed: its calls under moto, and what CloudFormation does for it.

``test_release_coverage.py`` checks every call the release's code can make, read statically. This
module checks what the real API handler did while it created, described, updated and deleted
clusters and built and deleted images under moto (``tests/lambda_image/scenarios.py``), and what
CloudFormation does with the function's credentials for the cluster and image templates the release
made there (``coverage/operations.py``). A denial fails unless ``coverage/withheld.py`` withholds it
on purpose.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import ACCOUNT, BOUNDARY_ARN, CONFIGURATIONS, cdk_json_context
from tests.constructs_lib.parallelcluster_api.coverage import operations
from tests.constructs_lib.parallelcluster_api.coverage.withheld import WITHHELD, configuration_kinds, withheld
from tests.constructs_lib.parallelcluster_api.test_release_coverage import CHECKED, function_policies, outcomes

# The handler's batch runs in the lambda_image venvs (built once, cached); one worker runs these.
pytestmark = [pytest.mark.lambda_image, pytest.mark.xdist_group("lambda_image")]


def settings(configuration: str) -> dict[str, Any]:
    return {**cdk_json_context(), **CONFIGURATIONS[configuration]}


def evaluate(
    configuration: str,
    recorded: dict[str, list[dict[str, Any]]],
    templates: dict[str, dict[str, Any]],
    policies: dict[str, dict[str, Any]] | None = None,
) -> list[operations.Operation]:
    context = settings(configuration)
    region = context.get("Region", "*")
    region = operations.SCENARIO_REGION if region == "*" else region
    policies = policies if policies is not None else function_policies(configuration)
    boundary = context.get("PermissionsBoundaryPolicy")
    return operations.call_operations(recorded, policies, region=region, account=ACCOUNT) + operations.cloudformation_operations(
        templates, policies, region=region, account=ACCOUNT, boundary=boundary
    )


def gaps(configuration: str, found: list[operations.Operation]) -> list[operations.Operation]:
    kinds = configuration_kinds(settings(configuration))
    return [
        operation
        for operation in operations.denied(found)
        if not withheld(operation.action, kinds, operation=operation.operation, resource_type=operation.resource_type)
    ]


@pytest.fixture(scope="session")
def evaluated(recorded_calls, pcluster_templates) -> dict[str, list[operations.Operation]]:
    return {configuration: evaluate(configuration, recorded_calls, pcluster_templates) for configuration in CHECKED}


@pytest.mark.parametrize("configuration", CHECKED)
def test_every_operation_of_the_release_is_allowed(configuration, evaluated):
    found = gaps(configuration, evaluated[configuration])
    assert not found, "\n".join(["Denied operations of the release:", *sorted({gap.describe(configuration) for gap in found})])


def test_the_templates_and_calls_were_evaluated(evaluated, pcluster_templates):
    """Not vacuous: both sources, every template, and the tagging that broke create-cluster upstream."""
    found = evaluated["default"]
    assert {operation.source for operation in found} == {"call", "cloudformation"}
    evaluated_templates = {operation.where.split(" ")[0] for operation in found if operation.source == "cloudformation"}
    assert evaluated_templates == set(pcluster_templates)
    alarms = [o for o in found if o.resource_type == "AWS::CloudWatch::Alarm" and o.action == "cloudwatch:TagResource"]
    assert alarms and all(o.decision.allowed for o in alarms)


def test_a_removed_action_is_reported_with_its_resource(recorded_calls, pcluster_templates):
    """aws-parallelcluster issue 7331: without cloudwatch:TagResource, create-cluster rolls back."""
    policies = copy.deepcopy(function_policies("default"))
    for document in policies.values():
        for statement in document["Statement"]:
            if "cloudwatch:TagResource" in statement["Action"]:
                statement["Action"].remove("cloudwatch:TagResource")
    found = gaps("default", evaluate("default", recorded_calls, pcluster_templates, policies))
    messages = [gap.describe("default") for gap in found if gap.action == "cloudwatch:TagResource"]
    assert messages, "removing cloudwatch:TagResource went unnoticed"
    assert any("AWS::CloudWatch::CompositeAlarm" in message for message in messages)
    assert any("tagging: CloudFormation propagates the stack's tags" in message for message in messages)


def test_encrypted_storage_may_use_the_key_only_through_its_service(evaluated):
    creates = [
        o for o in evaluated["default"]
        if o.action == "kms:CreateGrant" and o.resource_type == "AWS::EC2::Volume"
    ]
    assert creates and all(o.decision.allowed for o in creates)
    direct = copy.deepcopy(creates[0].request.context)
    direct.pop("kms:ViaService")
    request = operations.Request("kms:CreateGrant", creates[0].request.resource, direct)
    assert not operations.iam_policy.evaluate(function_policies("default"), request).allowed


def test_every_withheld_entry_withholds_something(evaluated):
    used = set()
    for configuration in CHECKED:
        kinds = configuration_kinds(settings(configuration))
        for operation in operations.denied(evaluated[configuration]):
            used |= {
                entry for entry in WITHHELD
                if entry.covers(operation.action, kinds, operation=operation.operation, resource_type=operation.resource_type)
            }
        for outcome in outcomes(configuration):
            if outcome.withheld:
                used |= {entry for entry in WITHHELD if entry.covers(outcome.action, kinds, wrapper=outcome.call.wrapper)}
    assert set(WITHHELD) <= used, [entry.action for entry in WITHHELD if entry not in used]


def test_boundary_mode_evaluates_roles_with_the_boundary(evaluated):
    """The cluster's configuration names the API's boundary: role writes are allowed with it only."""
    role_creates = [o for o in evaluated["boundary"] if o.action == "iam:CreateRole" and o.source == "cloudformation"]
    assert role_creates and all(o.request.context.get("iam:PermissionsBoundary") == BOUNDARY_ARN for o in role_creates)
    assert all(o.decision.allowed for o in role_creates)
