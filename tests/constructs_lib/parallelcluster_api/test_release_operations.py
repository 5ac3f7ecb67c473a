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
    version: str,
    recorded: dict[str, list[dict[str, Any]]],
    templates: dict[str, dict[str, Any]],
    policies: dict[str, dict[str, Any]] | None = None,
) -> list[operations.Operation]:
    context = settings(configuration)
    region = context.get("Region", "*")
    region = operations.SCENARIO_REGION if region == "*" else region
    policies = policies if policies is not None else function_policies(configuration, version)
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
def evaluated(served_version, recorded_calls, pcluster_templates) -> dict[str, list[operations.Operation]]:
    """{configuration: the operations of the served version's scenarios, evaluated against its policies}."""
    return {
        configuration: evaluate(configuration, served_version, recorded_calls, pcluster_templates) for configuration in CHECKED
    }


@pytest.mark.parametrize("configuration", CHECKED)
def test_every_operation_of_the_release_is_allowed(configuration, served_version, evaluated):
    found = gaps(configuration, evaluated[configuration])
    described = sorted({gap.describe(configuration, served_version) for gap in found})
    assert not found, "\n".join(["Denied operations of the release:", *described])


def test_the_templates_and_calls_were_evaluated(evaluated, pcluster_templates):
    """Not vacuous: both sources, every template, and the tagging that broke create-cluster upstream."""
    found = evaluated["default"]
    assert {operation.source for operation in found} == {"call", "cloudformation"}
    evaluated_templates = {operation.where.split(" ")[0] for operation in found if operation.source == "cloudformation"}
    assert evaluated_templates == set(pcluster_templates)
    alarms = [o for o in found if o.resource_type == "AWS::CloudWatch::Alarm" and o.action == "cloudwatch:TagResource"]
    assert alarms and all(o.decision.allowed for o in alarms)


def test_a_removed_action_is_reported_with_its_resource(served_version, recorded_calls, pcluster_templates):
    """aws-parallelcluster issue 7331: without cloudwatch:TagResource, create-cluster rolls back."""
    policies = copy.deepcopy(function_policies("default", served_version))
    for document in policies.values():
        for statement in document["Statement"]:
            if "cloudwatch:TagResource" in statement["Action"]:
                statement["Action"].remove("cloudwatch:TagResource")
    found = gaps("default", evaluate("default", served_version, recorded_calls, pcluster_templates, policies))
    messages = [gap.describe("default", served_version) for gap in found if gap.action == "cloudwatch:TagResource"]
    assert messages, "removing cloudwatch:TagResource went unnoticed"
    assert all(f"of ParallelCluster {served_version}" in message for message in messages)
    assert any("AWS::CloudWatch::CompositeAlarm" in message for message in messages)
    assert any("tagging: CloudFormation propagates the stack's tags" in message for message in messages)


def test_encrypted_storage_may_use_the_key_only_through_its_service(served_version, evaluated):
    creates = [
        o for o in evaluated["default"]
        if o.action == "kms:CreateGrant" and o.resource_type == "AWS::EC2::Volume"
    ]
    assert creates and all(o.decision.allowed for o in creates)
    direct = copy.deepcopy(creates[0].request.context)
    direct.pop("kms:ViaService")
    request = operations.Request("kms:CreateGrant", creates[0].request.resource, direct)
    assert not operations.iam_policy.evaluate(function_policies("default", served_version), request).allowed


def test_every_withheld_entry_withholds_something(served_version, evaluated):
    used = set()
    for configuration in CHECKED:
        kinds = configuration_kinds(settings(configuration))
        for operation in operations.denied(evaluated[configuration]):
            used |= {
                entry for entry in WITHHELD
                if entry.covers(operation.action, kinds, operation=operation.operation, resource_type=operation.resource_type)
            }
        for outcome in outcomes(configuration, served_version):
            if outcome.withheld:
                used |= {entry for entry in WITHHELD if entry.covers(outcome.action, kinds, wrapper=outcome.call.wrapper)}
    assert set(WITHHELD) <= used, [entry.action for entry in WITHHELD if entry not in used]


def test_boundary_mode_evaluates_roles_with_the_boundary(evaluated):
    """The cluster's configuration names the API's boundary: role writes are allowed with it only."""
    role_creates = [o for o in evaluated["boundary"] if o.action == "iam:CreateRole" and o.source == "cloudformation"]
    assert role_creates and all(o.request.context.get("iam:PermissionsBoundary") == BOUNDARY_ARN for o in role_creates)
    assert all(o.decision.allowed for o in role_creates)


def test_the_batch_grants_serve_the_releases_with_batch_and_only_them(served_release, evaluated):
    """Nothing granted for a version that does not call it: each statement of the Batch policy allows
    something the release's Batch cluster does, and a release without Batch has no such policy."""
    policies = function_policies("iam-admin", served_release.version)
    batch_policies = [name for name, document in policies.items() if any(s.get("Sid") == "Batch" for s in document["Statement"])]
    if not served_release.awsbatch:
        assert batch_policies == []
        return
    [batch_policy] = batch_policies
    granted = {f"{batch_policy}/{statement['Sid']}" for statement in policies[batch_policy]["Statement"]}
    used = {
        operation.decision.statement
        for configuration in ("default", "iam-admin")
        for operation in evaluated[configuration]
        if operation.decision.allowed
    } | {outcome.decision.statement for outcome in outcomes("iam-admin", served_release.version) if outcome.decision.allowed}
    assert granted <= used, sorted(granted - used)


def test_the_function_deletes_only_parallelclusters_stacks(served_version, evaluated):
    """The real handler's DeleteStack calls are allowed by the stacks' own tags, and nothing else is."""
    deletes = {o.where.split(":")[0]: o for o in evaluated["default"] if o.source == "call" and o.action == "cloudformation:DeleteStack"}
    assert {"delete_full_cluster", "delete_image"} <= set(deletes)
    for event, sid, tag in (("delete_full_cluster", "CloudFormationDelete", "parallelcluster:cluster-name"),
                            ("delete_image", "CloudFormationDeleteImage", "parallelcluster:image_id")):
        operation = deletes[event]
        assert operation.decision.allowed and operation.decision.statement.endswith(f"/{sid}"), operation.decision.reason
        assert f"aws:ResourceTag/{tag}" in operation.request.context
        assert operation.request.context["aws:ResourceTag/parallelcluster:version"] == served_version
        untagged = operations.Request(operation.action, operation.request.resource, {"aws:RequestedRegion": operation.request.context["aws:RequestedRegion"]})
        assert not operations.iam_policy.evaluate(function_policies("default", served_version), untagged).allowed


def test_the_function_creates_image_stacks_only_with_their_tags(served_version, evaluated):
    [create] = [o for o in evaluated["default"] if o.where == "build_image: cloudformation.CreateStack"]
    assert create.decision.allowed and create.decision.statement.endswith("/CloudFormationBuildImage"), create.decision.reason
    context = {key: value for key, value in create.request.context.items() if not key.startswith(("aws:RequestTag/", "aws:TagKeys"))}
    untagged = operations.Request(create.action, create.request.resource, context)
    assert not operations.iam_policy.evaluate(function_policies("default", served_version), untagged).allowed
