"""One endpoint for several versions, as the construct builds it: the router, and a function per version.

The REST API's integration (the spec's ``ParallelClusterFunction``) is the router; behind it each
version's function runs that version, with that version's permissions, exactly as an API of that
version alone has them; the router may only read stacks and AMIs and invoke those functions.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest

from constructs_lib import FunctionCode, InvalidSettingError, ParallelClusterApi
from constructs_lib.helper_function import inline_source
from constructs_lib.version_router import RUNTIME
from stacks import ParallelClusterApiStack
from stacks.settings import Settings
from tests.conftest import CONFIGURATIONS, TEST_REGION, cdk_json_context, render, synthesize

ROUTED = {"router": ("3.15.1", "3.16.1"), "router-layer": ("3.14.2", "3.16.1")}


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {logical_id: r for logical_id, r in template["Resources"].items() if r["Type"] == resource_type}


def policies_of_role(template: dict[str, Any], role_id: str) -> dict[str, list[dict[str, Any]]]:
    """The managed policies attached to a role: name without the version digits → rendered statements."""
    found = {}
    for logical_id, policy in resources(template, "AWS::IAM::ManagedPolicy").items():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            name = re.sub(r"(Version\d+|[0-9A-F]{8}$)", "", logical_id)
            statements = render(policy["Properties"]["PolicyDocument"])["Statement"]
            found[name] = sorted(statements, key=lambda statement: statement.get("Sid", ""))
    return found


def role_of(template: dict[str, Any], function_id: str) -> str:
    return template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]


@pytest.mark.parametrize("configuration", sorted(ROUTED))
def test_the_spec_integration_is_the_router_in_front_of_a_function_per_version(configuration):
    template = synthesize(configuration).template
    versions = ROUTED[configuration]
    router = template["Resources"]["ParallelClusterFunction"]["Properties"]
    assert router["Code"]["ZipFile"] == inline_source(RUNTIME)
    variables = router["Environment"]["Variables"]
    assert variables["DEFAULT_VERSION"] == versions[-1]
    functions = json.loads(render(variables["VERSION_FUNCTIONS"]))
    assert functions == {version: f"<ParallelClusterFunction{version.replace('.', '')}.Arn>" for version in versions}
    for version in versions:
        function = template["Resources"][f"ParallelClusterFunction{version.replace('.', '')}"]["Properties"]
        assert function["Description"] == f"Runs the AWS ParallelCluster {version} API"
        tags = {tag["Key"]: tag["Value"] for tag in function["Tags"]}
        assert tags["parallelcluster:version"] == version
    # API Gateway invokes the router alone.
    [execution_policy] = [
        p for p in resources(template, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": "APIGatewayExecutionRole"} in p["Properties"].get("Roles", [])
    ]
    [invoke] = render(execution_policy["Properties"]["PolicyDocument"])["Statement"]
    assert (invoke["Action"], invoke["Resource"]) == ("lambda:InvokeFunction", "<ParallelClusterFunction.Arn>")


@pytest.mark.parametrize("configuration", sorted(ROUTED))
def test_the_router_may_only_read_stacks_and_amis_and_invoke_the_version_functions(configuration):
    template = synthesize(configuration).template
    [policy] = policies_of_role(template, role_of(template, "ParallelClusterFunction")).values()
    by_sid = {statement.get("Sid"): statement for statement in policy}
    actions = sorted(a for s in policy for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))
    assert actions == sorted([
        "cloudformation:DescribeStacks", "ec2:DescribeImages", "lambda:InvokeFunction",
        "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTelemetryRecords", "xray:PutTraceSegments",
    ])
    region = "*" if "Region" not in CONFIGURATIONS[configuration] else TEST_REGION
    assert by_sid["ReadClusterAndImageStacks"]["Resource"] == f"arn:aws:cloudformation:{region}:123456789012:stack/*"
    assert sorted(by_sid["InvokeVersionFunctions"]["Resource"]) == sorted(
        f"<ParallelClusterFunction{version.replace('.', '')}.Arn>" for version in ROUTED[configuration]
    )
    if region != "*":
        assert by_sid["ReadImages"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": [TEST_REGION]}}


@pytest.mark.parametrize("configuration", sorted(ROUTED))
def test_each_version_function_keeps_its_versions_permissions(configuration):
    """As an API of that version alone has them (same settings but the version): Batch for 3.15 and older."""
    template = synthesize(configuration).template
    settings = {key: value for key, value in CONFIGURATIONS[configuration].items() if key != "ParallelClusterVersions"}
    for version in ROUTED[configuration]:
        alone = synthesize_alone(settings, version)
        routed = policies_of_role(template, role_of(template, f"ParallelClusterFunction{version.replace('.', '')}"))
        expected = policies_of_role(alone, role_of(alone, "ParallelClusterFunction"))
        # The role's own policy names the function's log group, whose logical id has the version.
        own = "ApiFunctionRolePolicy"
        assert set(routed) == set(expected) and own in routed
        assert {name: s for name, s in routed.items() if name != own} == {name: s for name, s in expected.items() if name != own}
        assert ("ApiParallelClusterClusterPolicyBatch" in routed) == (version != "3.16.1")


def synthesize_alone(settings: dict[str, str], version: str) -> dict[str, Any]:
    name = next((n for n, s in CONFIGURATIONS.items() if s == {**settings, "ParallelClusterVersion": version}), None)
    if name is not None:
        return synthesize(name).template
    return synthesize_with(settings, version)


def synthesize_with(settings: dict[str, str], version: str) -> dict[str, Any]:
    import tempfile
    from pathlib import Path

    from tools.configurations import synthesize_settings

    return synthesize_settings({**settings, "ParallelClusterVersion": version}, Path(tempfile.mkdtemp(prefix="cdk-test-")))[1]


def test_each_version_runs_its_own_code():
    layered = synthesize("router-layer").template
    for version in ROUTED["router-layer"]:
        layer = layered["Resources"][f"PclusterLayer{version.replace('.', '')}"]["Properties"]
        assert layer["Content"]["S3Key"] == f"parallelcluster/{version}/layers/aws-parallelcluster/lambda-layer.zip"
    built = synthesize("router").template
    recipes = {r["Properties"]["Version"] for r in resources(built, "AWS::ImageBuilder::ContainerRecipe").values()}
    assert recipes == set(ROUTED["router"])


def parse(**context: str) -> Any:
    return Settings.from_context({**cdk_json_context(), **context})


@pytest.mark.parametrize(
    ("context", "line"),
    [
        ({"ParallelClusterVersions": "3.16.1"}, "ParallelClusterVersions: expected two or more different served versions, the default last; got '3.16.1'"),
        ({"ParallelClusterVersions": "3.16.1,3.16.1"}, "ParallelClusterVersions: expected two or more different served versions, the default last; got '3.16.1,3.16.1'"),
        ({"ParallelClusterVersions": "3.13.2,3.16.1"}, "ParallelClusterVersions: expected a ParallelCluster version this project serves"),
        ({"ParallelClusterVersions": "3.15.1,3.16.1", "ParallelClusterVersion": "3.16.1"},
         "ParallelClusterVersion: expected no value when ParallelClusterVersions is set (ParallelClusterVersions names every version, the default last); got '3.16.1'"),
        ({"ParallelClusterVersions": "3.15.1,3.16.1", "EcrImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:3.16.1"},
         "EcrImageUri: expected one image per version of ParallelClusterVersions (2), comma-separated; got '123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:3.16.1'"),
    ],
)
def test_bad_routed_settings_are_refused_in_one_line(context, line):
    with pytest.raises(InvalidSettingError) as error:
        ParallelClusterApiStack(cdk.App(), settings=parse(**context))
    assert str(error.value).startswith(line)
    assert "\n" not in str(error.value)


def test_an_image_is_given_per_version():
    settings = parse(
        ParallelClusterVersions="3.15.1,3.16.1",
        EcrImageUri="123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:3.15.1,123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:3.16.1",
    )
    stack = ParallelClusterApiStack(cdk.App(context=cdk_json_context()), settings=settings)
    template = cdk.assertions.Template.from_stack(stack).to_json()
    for version in ("3.15.1", "3.16.1"):
        code = template["Resources"][f"ParallelClusterFunction{version.replace('.', '')}"]["Properties"]["Code"]
        assert render(code["ImageUri"]).endswith(f"/api:{version}")
    with pytest.raises(InvalidSettingError, match="^function_code: expected an image per version"):
        ParallelClusterApi(
            cdk.Stack(), "Api", parallelcluster_versions=["3.15.1", "3.16.1"],
            function_code=FunctionCode.from_ecr_image_uri("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:3.16.1"),
        )
