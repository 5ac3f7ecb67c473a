"""Updates that keep a stack: from AWS's template to the portable one, and from our reviewed template to today's.

Each test runs the update simulation (``update_simulation.py``): no logical id changes type, no new
resource claims a name an old one holds, and what users reference (the REST API behind the invoke
URL, the custom domain, the user role, the function's log group) and the exports stay.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.parallelcluster_api.plan import OfficialDomain
from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION
from stacks.portable_template import parameters
from tests.cloudformation import Deployment
from tests.conftest import PSEUDO_PARAMETERS, TEST_REGION, synthesize
from tests.stacks.official_facts import api_facts, official_parameters, official_stack
from tests.stacks.portable import portable
from tests.stacks.update_simulation import StackState, simulate

pytestmark = pytest.mark.xdist_group("portable_template")

SNAPSHOTS = Path(__file__).parent / "snapshots" / "updates"
OFFICIAL_VERSION = "3.11.1"


def template(official_domain: OfficialDomain | None = None) -> dict[str, Any]:
    """The portable template ``make template`` writes (for a stack of AWS's template with that domain)."""
    return portable(TEST_REGION, official_domain)[0]


def takeover(configuration: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The template and parameters of ``update-stack`` on AWS's stack: the same parameters, our version's spec."""
    values = official_parameters(configuration)
    if "ApiDefinitionS3Uri" in values:
        # The ParallelCluster UI names the spec of the version it deploys.
        values["ApiDefinitionS3Uri"] = values["ApiDefinitionS3Uri"].replace(OFFICIAL_VERSION, DEFAULT_PARALLELCLUSTER_VERSION)
    if "CustomDomainHostedZoneId" in values:
        return template(OfficialDomain(values["CustomDomainName"], values["CustomDomainHostedZoneId"])), values
    return template(), values


def updated(template_: dict[str, Any], values: dict[str, str]) -> StackState:
    deployment = Deployment(template_, values, PSEUDO_PARAMETERS)
    deployment.check()
    return StackState.of(deployment)


# What goes: the nested policies stack (our policies are built in) and, besides, AWS's deployment
# (ours is another deployment of the same API). What is replaced: the layer version of AWS's 3.11.1
# (ours has the same name and another version's archive: a new layer version).
DELETED = {"PclusterPolicies"}
REPLACED = {"PclusterLayer"}


@pytest.mark.parametrize("configuration", sorted(api_facts()["configurations"]))
def test_update_stack_from_aws_template_keeps_the_api_the_roles_and_the_logs(configuration):
    old = official_stack(configuration)
    report = simulate(old, updated(*takeover(configuration)))
    assert report.problems == []
    assert report.replaced == REPLACED
    deployments = {logical_id for logical_id in old.resources if old.resources[logical_id]["Type"] == "AWS::ApiGateway::Deployment"}
    assert report.deleted == DELETED | deployments
    kept = set(old.resources) - report.replaced - report.deleted
    assert {"APIGatewayExecutionRole", "ParallelClusterFunction", "ParallelClusterFunctionLogGroup"} <= kept
    assert [logical_id for logical_id in kept if old.resources[logical_id]["Type"] == "AWS::ApiGateway::RestApi"]


@pytest.mark.parametrize("configuration", sorted(api_facts()["configurations"]))
def test_update_stack_back_to_aws_template_keeps_them_too(configuration):
    """The way back (README): AWS's template takes the same logical ids and names in place."""
    report = simulate(updated(*takeover(configuration)), official_stack(configuration))
    assert report.problems == []
    assert report.replaced == REPLACED


def test_the_generic_template_would_claim_the_custom_domain_aws_template_holds():
    """Why a stack with AWS's custom domain needs the template made for its domain (README)."""
    old = official_stack("custom-domain-zone")
    values = takeover("custom-domain-zone")[1]
    report = simulate(old, updated(template(), values))
    assert [problem.split(":")[0] for problem in report.claims] == ["ApiGatewayDomainName", "RecordSetGroup"]


def test_update_stack_from_aws_template_to_an_image_replaces_the_function_and_keeps_its_logs():
    """PackageType is create-only: the image is a new function, which renames its log group; the old group stays."""
    old = official_stack("defaults")
    report = simulate(old, updated(template(), {"LambdaImageSource": "imagebuilder"}))
    assert report.problems == []
    assert report.replaced == {"ParallelClusterFunction", "ParallelClusterFunctionLogGroup"}
    assert report.retained == {"ParallelClusterFunctionLogGroup"}
    assert report.deleted >= {"PclusterLayer", "PclusterPolicies"}


def test_every_parameter_of_aws_template_is_a_parameter_here():
    """update-stack with UsePreviousValue (or the same values) names each of them."""
    ours = {parameter.name for parameter in parameters(TEST_REGION, DEFAULT_PARALLELCLUSTER_VERSION)}
    assert set(api_facts()["parameters"]) <= ours


# Our template in the configurations of the update checks from AWS's, as the CDK app makes them.
OUR_CONFIGURATIONS = ("default", "parallelcluster-ui", "custom-domain-zone-prefix", "private")


@pytest.mark.parametrize("configuration", OUR_CONFIGURATIONS)
def test_an_update_from_the_reviewed_template_keeps_every_resource(configuration):
    """The reviewed state of each configuration (its logical ids, types and names) updates to today's.

    ``UPDATE_SNAPSHOTS=1`` records today's state only when the update from the reviewed one passes:
    the logical ids and names cannot change under a stack without this test failing first.
    """
    current = StackState.of(Deployment(synthesize(configuration).template, {}, PSEUDO_PARAMETERS))
    path = SNAPSHOTS / f"{configuration}.json"
    if path.exists():
        reviewed = json.loads(path.read_text())
        report = simulate(StackState(reviewed["resources"], reviewed["outputs"]), current)
        assert report.problems == []
    elif os.environ.get("UPDATE_SNAPSHOTS") != "1":
        pytest.fail(f"{path.name}: no reviewed state; record it with UPDATE_SNAPSHOTS=1")
    text = json.dumps(current.as_json(), indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), "a changed state is reviewed (UPDATE_SNAPSHOTS=1) and explained in its commit"
