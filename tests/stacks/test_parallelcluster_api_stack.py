"""The stack: official outputs, and a reviewed snapshot of the default template."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from constructs_lib.helper_function import inline_source
from pcluster_api_client.endpoint import DOMAIN_NAME_TYPE, check_invoke_url
from stacks import outputs as output_names
from tests.conftest import CONFIGURATIONS, ROOT, TEST_REGION, render, synthesize

SNAPSHOT = Path(__file__).parent / "snapshots" / "default.template.json"


def outputs(configuration: str = "default") -> dict:
    return synthesize(configuration).template["Outputs"]


def test_default_template_matches_the_reviewed_snapshot(default):
    """A changed snapshot is reviewed, and explained in the commit that changes it.

    Regenerate with ``UPDATE_SNAPSHOTS=1 make test``.
    """
    current = json.dumps(_without_inline_code(default.template), indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text()


def _without_inline_code(template: dict) -> dict:
    """The template with each helper's inline code named by its module: the modules are reviewed as code."""
    modules = {inline_source(path): path.relative_to(ROOT).as_posix() for path in ROOT.glob("constructs_lib/*/runtime/*.py")}
    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        code = resource["Properties"].get("Code", {}) if resource["Type"] == "AWS::Lambda::Function" else {}
        if code.get("ZipFile") in modules:
            code["ZipFile"] = f"<inline code of {modules[code['ZipFile']]}>"
    return template


def test_outputs_keep_the_official_names():
    assert set(outputs()) == {
        "ParallelClusterApiInvokeUrl",
        "ParallelClusterApiUserRole",
        "ParallelClusterLambdaArn",
        "ParallelClusterLambdaLogGroup",
        "ParallelClusterDockerUpdateImagePipeline",
        "UriOfCopyOfPublicEcrImage",
    }


def test_invoke_url_is_the_prod_stage_url_without_trailing_slash(default):
    (api_id,) = default.resources("AWS::ApiGateway::RestApi")
    url = render(outputs()["ParallelClusterApiInvokeUrl"]["Value"])
    assert url == f"https://<{api_id}>.execute-api.{TEST_REGION}.amazonaws.com/prod"


def test_invoke_url_follows_the_partition_url_suffix(default):
    url = render(outputs()["ParallelClusterApiInvokeUrl"]["Value"], {"AWS::URLSuffix": "amazonaws.com.cn", "AWS::Region": "cn-north-1"})
    assert url.endswith(".execute-api.cn-north-1.amazonaws.com.cn/prod")


@pytest.mark.parametrize("output", ["ParallelClusterApiInvokeUrl", "ParallelClusterApiUserRole"])
def test_exports_are_named_after_the_stack(output):
    assert render(outputs()[output]["Export"]["Name"]) == f"ParallelClusterApi-{output}"
    assert render(outputs("locked-down")[output]["Export"]["Name"]) == f"ParallelClusterApi-{output}"


def test_stack_name_setting_names_the_stack():
    stack = synthesize("locked-down").stack
    assert stack.stack_name == "HpcApi"
    assert stack.artifact_id == "HpcApi"


def test_user_role_output_is_the_role_arn(default):
    role_id = default.stack.resolve(default.stack.api.api_user_role.node.default_child.ref)["Ref"]
    assert outputs()["ParallelClusterApiUserRole"]["Value"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_no_user_role_output_without_user_role():
    assert "ParallelClusterApiUserRole" not in outputs("no-user-role")


def test_lambda_outputs(default):
    assert outputs()["ParallelClusterLambdaArn"]["Value"] == {"Fn::GetAtt": ["ParallelClusterFunction", "Arn"]}
    assert outputs()["ParallelClusterLambdaLogGroup"]["Value"] == {"Ref": "ParallelClusterFunctionLogGroup"}


def test_every_configuration_synthesizes():
    for configuration in CONFIGURATIONS:
        assert synthesize(configuration).template["Resources"], configuration



def no_stack_domains() -> set[str]:
    raise AssertionError("an execute-api invoke URL is accepted without reading the stack's resources")


@pytest.mark.parametrize(
    ("configuration", "region", "url_suffix"),
    [("default", TEST_REGION, "amazonaws.com"), ("private", TEST_REGION, "amazonaws.com"), ("default", "cn-north-1", "amazonaws.com.cn")],
)
def test_pcluster_api_accepts_the_invoke_url_output(configuration, region, url_suffix):
    synthesized = synthesize(configuration)
    (api_id,) = synthesized.resources("AWS::ApiGateway::RestApi")
    pseudo = {"AWS::Region": region, "AWS::URLSuffix": url_suffix}
    url = render(outputs(configuration)[output_names.INVOKE_URL]["Value"], pseudo).replace(f"<{api_id}>", "a1b2c3d4e5")
    assert check_invoke_url(url, region=region, stack_domains=no_stack_domains) == url


def test_pcluster_api_accepts_the_custom_domain_as_the_stack_deploys_it():
    """The client finds the domain as the physical id of the stack's domain resource (its DomainName)."""
    synthesized = synthesize("custom-domain-no-zone")
    (domain,) = synthesized.resources(DOMAIN_NAME_TYPE).values()
    url = render(outputs("custom-domain-no-zone")[output_names.INVOKE_URL]["Value"])
    physical_ids = {domain["Properties"]["DomainName"]}
    assert check_invoke_url(url, region=TEST_REGION, stack_domains=lambda: physical_ids) == url
