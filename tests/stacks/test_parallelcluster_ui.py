"""The ParallelCluster UI can nest the portable template: it takes what the UI passes and has what it reads.

What the UI passes and reads is recorded from aws/aws-parallelcluster-ui's infrastructure template
(tests/stacks/official/parallelcluster-ui.yaml, tags 2024.11.0 and 2026.04.0).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import pytest

from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION
from tests.cloudformation import Deployment
from tests.conftest import ACCOUNT, BOUNDARY_ARN, PSEUDO_PARAMETERS, TEST_REGION, VPC_ENDPOINT_ID
from tests.stacks.official_facts import ui_facts
from tests.stacks.portable import portable

pytestmark = pytest.mark.xdist_group("portable_template")

TAGS = sorted(ui_facts()["tags"])
# A value the UI could pass for each of its inputs (each fits the UI's own constraint, checked below).
EXAMPLES = {
    "the UI's PermissionsBoundaryPolicyPCAPI": BOUNDARY_ARN,
    "the UI's IAMRoleAndPolicyPrefix": "pcui-",
    "the UI's VpcEndpointId": VPC_ENDPOINT_ID,
    "the UI's AdditionalPoliciesPCAPI (one policy ARN)": f"arn:aws:iam::{ACCOUNT}:policy/pcui-custom-actions",
}
# Passed only for ParallelCluster 3.0 to 3.5 (the container API), which this project does not serve.
CONTAINER_VERSIONS_ONLY = "Version is 3.0 to 3.5"


def template() -> dict[str, Any]:
    return portable()[0]


def passed(tag: str) -> dict[str, dict[str, Any]]:
    parameters: dict[str, dict[str, Any]] = ui_facts()["tags"][tag]["parameters"]
    return parameters


def ui_values(tag: str, *, optional: bool) -> dict[str, str]:
    """The parameters the UI passes for a version this project serves: the fixed ones, and with
    ``optional`` also those it passes when the UI's own setting is set."""
    values = {}
    for name, fact in passed(tag).items():
        when = fact.get("when", "")
        if when.startswith(CONTAINER_VERSIONS_ONLY) or (when and not optional):
            continue
        value = fact["value"]
        value = EXAMPLES.get(value, value)
        values[name] = value.replace("${AWS::Region}", TEST_REGION).replace("${Version}", DEFAULT_PARALLELCLUSTER_VERSION).replace(
            "${ApiVersion}", DEFAULT_PARALLELCLUSTER_VERSION
        )
    return values


@pytest.mark.parametrize("tag", TAGS)
def test_every_parameter_the_ui_passes_is_a_parameter_of_the_template(tag):
    assert set(passed(tag)) <= set(template()["Parameters"])


@pytest.mark.parametrize("tag", TAGS)
def test_the_examples_are_values_the_ui_accepts(tag):
    for name, value in ui_values(tag, optional=True).items():
        fact = passed(tag)[name]
        if "pattern" in fact:
            assert re.fullmatch(fact["pattern"], value), name
        assert len(value) <= fact.get("max_length", len(value)), name


@pytest.mark.parametrize("optional", [False, True], ids=["fixed values", "every value"])
@pytest.mark.parametrize("tag", TAGS)
def test_the_template_takes_the_uis_values_and_runs_the_layer(tag, optional):
    """The UI passes no LambdaImageSource: the layer, nothing built, well within its 30-minute timeout."""
    assert ui_facts()["tags"][tag]["timeout_in_minutes"] == 30
    deployment = Deployment(template(), ui_values(tag, optional=optional), PSEUDO_PARAMETERS)
    deployment.check()
    resources = deployment.resources()
    assert "PclusterLayer" in resources
    assert not [r for r in resources.values() if r["Type"].startswith("AWS::ImageBuilder::")]


@pytest.mark.parametrize("tag", TAGS)
def test_the_outputs_the_ui_reads_are_there_and_name_the_api_as_it_parses_them(tag):
    deployment = Deployment(template(), ui_values(tag, optional=False), PSEUDO_PARAMETERS)
    outputs = deployment.outputs()
    assert set(ui_facts()["tags"][tag]["outputs"]) <= set(outputs)
    url = urlparse(outputs["ParallelClusterApiInvokeUrl"]["Value"])
    # The UI takes the API id from the host's first label and the stage from the path.
    (api,) = [logical_id for logical_id, r in deployment.resources().items() if r["Type"] == "AWS::ApiGateway::RestApi"]
    assert url.netloc.split(".")[0] == f"<{api}>"
    assert url.path.split("/")[1] == "prod"
