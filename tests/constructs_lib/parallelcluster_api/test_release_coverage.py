"""Permission coverage of each release the function serves: every AWS call of aws-parallelcluster must be allowed.

The calls are read from each served release as its image venv installs it (``coverage/pcluster_calls.py``), mapped to IAM
authorizations with their resources and condition keys (``coverage/iam_actions.py``) and evaluated
against the function role's managed policies as synthesized (``coverage/iam_policy.py``). A denied
authorization fails the test unless ``coverage/withheld.py`` withholds it on purpose, or it is a
known gap below (then the test fails once it is fixed, so that the entry goes).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest

from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION, SUPPORTED_PARALLELCLUSTER_VERSIONS
from tests.conftest import ACCOUNT, CONFIGURATIONS, cdk_json_context, render, synthesize
from tests.constructs_lib.parallelcluster_api.coverage import check, iam_policy, pcluster_calls
from tests.constructs_lib.parallelcluster_api.coverage.representatives import representative_variants
from tests.constructs_lib.parallelcluster_api.coverage.withheld import configuration_kinds

pytestmark = pytest.mark.xdist_group("release_coverage")

CHECKED = ("default", "iam-admin", "boundary", "single-region", "iam-admin-boundary")
_ALL = frozenset(CHECKED)

# Authorizations today's policies deny, by action and the configurations they are denied in. Remove
# an entry when the policies are fixed: the test fails while a fixed gap is still listed.
KNOWN_GAPS: dict[str, frozenset[str]] = {}
VERSIONS = SUPPORTED_PARALLELCLUSTER_VERSIONS


def context(configuration: str) -> dict[str, Any]:
    return {**cdk_json_context(), **CONFIGURATIONS[configuration]}


@functools.cache
def function_policies(configuration: str, version: str = DEFAULT_PARALLELCLUSTER_VERSION) -> dict[str, dict[str, Any]]:
    """The managed policies attached to the function's role for a served version, intrinsics evaluated."""
    synthesized = synthesize(configuration, version=version)
    role = synthesized.template["Resources"]["ParallelClusterFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    return {
        logical_id: render(policy["Properties"]["PolicyDocument"])
        for logical_id, policy in synthesized.resources("AWS::IAM::ManagedPolicy").items()
        if {"Ref": role} in policy["Properties"].get("Roles", [])
    }


def evaluate(configuration: str, version: str, policies: dict[str, dict[str, Any]]) -> list[check.Outcome]:
    settings = context(configuration)
    region = settings.get("Region", "*")
    return check.evaluate_release(
        policies,
        kinds=configuration_kinds(settings),
        region=None if region == "*" else region,
        account=ACCOUNT,
        extraction=pcluster_calls.extract(pcluster_calls.image_site_packages(version)),
    )


@functools.cache
def outcomes(configuration: str, version: str = DEFAULT_PARALLELCLUSTER_VERSION) -> list[check.Outcome]:
    return evaluate(configuration, version, function_policies(configuration, version))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("configuration", CHECKED)
def test_every_reachable_call_of_the_release_is_allowed(configuration, version):
    found = check.gaps(outcomes(configuration, version))
    known = {action for action, configurations in KNOWN_GAPS.items() if configuration in configurations}
    new = [gap.describe(configuration, version) for gap in found if gap.action not in known]
    fixed = known - {gap.action for gap in found}
    assert not new, "\n".join(["Denied calls of the release:", *new])
    assert not fixed, f"Fixed in {configuration!r}, remove from KNOWN_GAPS: {sorted(fixed)}"


@pytest.mark.parametrize("version", VERSIONS)
def test_the_check_reports_an_action_removed_from_a_policy(version):
    policies = copy.deepcopy(function_policies("default", version))
    (statement,) = [s for document in policies.values() for s in document["Statement"] if s.get("Sid") == "DynamoDB"]
    statement["Action"].remove("dynamodb:GetItem")
    reported = [gap for gap in check.gaps(evaluate("default", version, policies)) if gap.action == "dynamodb:GetItem"]
    assert reported, "removing dynamodb:GetItem went unnoticed"
    message = reported[0].describe("default", version)
    for expected in ("dynamodb:GetItem", "'default'", f"ParallelCluster {version}", "DynamoResource.get_item",
                     "pcluster/aws/dynamo.py:", "table/parallelcluster-mycluster"):
        assert expected in message, message


def test_a_cluster_stack_is_updated_by_its_own_tag_even_without_request_tags():
    """Deleting a cluster but keeping its logs updates the stack without Tags (models/cluster.py)."""
    updates = [o for o in outcomes("default") if o.call.wrapper == "CfnClient.update_stack_from_url"]
    assert {o.variant.split(" (")[0] for o in updates} == {"update-cluster", "delete-cluster keeping logs"}
    for outcome in updates:
        assert outcome.decision.allowed and outcome.decision.statement.endswith("/CloudFormationUpdate"), outcome.describe("default", DEFAULT_PARALLELCLUSTER_VERSION)


def test_the_check_evaluates_resources_and_conditions():
    """Where conventions name the resource, the decision was made on it, by the statement meant for it."""
    by_wrapper = {(o.call.wrapper, o.variant): o for o in outcomes("single-region") if o.action != "cloudformation:ListStacks"}
    table = by_wrapper[("DynamoResource.get_item", "compute fleet status table")]
    assert table.decision.resource_evaluated and table.decision.statement.endswith("/DynamoDB")
    created = by_wrapper[("CfnClient.create_stack_from_url", "create-cluster (models/cluster.py:387): tags from Cluster._get_cfn_tags")]
    assert created.authorization.request.context["aws:TagKeys"] == ["parallelcluster:cluster-name", "parallelcluster:version"]
    assert created.decision.allowed and created.decision.statement.endswith("/CloudFormationCreate")


@pytest.mark.parametrize("version", VERSIONS)
def test_representatives_name_reachable_wrappers(version):
    extraction = pcluster_calls.extract(pcluster_calls.image_site_packages(version))
    wrappers = {call.wrapper for call in extraction.reachable_calls()}
    table = representative_variants(
        pcluster_calls.release_constants(extraction.site_packages), version=version, partition="aws", region="us-east-1", account=ACCOUNT
    )
    assert set(table) <= wrappers, sorted(set(table) - wrappers)


@pytest.mark.parametrize("suffix", ["v1", "v2"])
def test_the_shared_cleanup_role_of_3_14_is_managed_under_both_of_its_names(suffix):
    """3.14.0 named the build-image cleanup role ...-v1, 3.14.1 and later ...-v2 (PCLUSTER_BUILD_IMAGE_CLEANUP_ROLE_REVISION):
    the API manages both, under the role path the release gives it."""
    constants = pcluster_calls.release_constants(pcluster_calls.image_site_packages("3.14.2"))
    role = f"arn:aws:iam::{ACCOUNT}:role{constants['IAM_ROLE_PATH']}{constants['PCLUSTER_BUILD_IMAGE_CLEANUP_ROLE_PREFIX']}-1a2b3c4d-{suffix}"
    policies = function_policies("iam-admin", "3.14.2")
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:TagRole", "iam:GetRole"):
        decision = iam_policy.evaluate(policies, iam_policy.Request(action, role, {"aws:RequestedRegion": "us-east-1"}))
        assert decision.allowed, decision.reason
    attach = iam_policy.Request(
        "iam:AttachRolePolicy",
        role,
        {"aws:RequestedRegion": "us-east-1", "iam:PolicyARN": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
    )
    assert iam_policy.evaluate(policies, attach).allowed
