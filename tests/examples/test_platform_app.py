"""examples/platform_app.py: the construct in a NestedStack of a platform team's stack."""

from __future__ import annotations

import importlib.util
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cfnlint.api
import pytest

from constructs_lib import audit
from tests.conftest import ACCOUNT, ROOT, TEST_REGION, cdk_json_context, render

pytestmark = pytest.mark.xdist_group("examples")

EXAMPLE = ROOT / "examples" / "platform_app.py"
# W3005 (a DependsOn that a reference already implies) comes from CDK's own L2 constructs.
ACCEPTED_RULES = {"W3005"}


@dataclass
class Synthesized:
    stack: Any  # the example's HpcPlatformStack
    parent: dict[str, Any]
    nested: dict[str, Any]
    outdir: Path

    def logical_id(self, construct: Any) -> str:
        """The logical id of an L2 construct's resource, in its own stack's template."""
        resource = construct.node.default_child
        stack = cdk.Stack.of(resource)
        return stack.resolve(stack.get_logical_id(resource))

    def only(self, template: dict[str, Any], resource_type: str) -> dict[str, Any]:
        (resource,) = [r for r in template["Resources"].values() if r["Type"] == resource_type]
        return resource

    def nested_output(self, reference: dict[str, Any]) -> Any:
        """What the parent's ``GetAtt <nested stack>.Outputs.X`` stands for in the nested template."""
        stack_id, attribute = reference["Fn::GetAtt"]
        assert self.parent["Resources"][stack_id]["Type"] == "AWS::CloudFormation::Stack"
        return self.nested["Outputs"][attribute.removeprefix("Outputs.")]["Value"]


@pytest.fixture(scope="session")
def synthesized() -> Synthesized:
    """The example's stacks, as `cdk synth --app ...` makes them from the repository root (cdk.json)."""
    spec = importlib.util.spec_from_file_location("examples_platform_app", EXAMPLE)
    assert spec and spec.loader
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    outdir = Path(tempfile.mkdtemp(prefix="cdk-example-"))
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    stack = example.build(app)
    assembly = app.synth()
    return Synthesized(
        stack=stack,
        parent=assembly.get_stack_by_name(stack.stack_name).template,
        nested=json.loads((outdir / cdk.Stack.of(stack.api).template_file).read_text()),
        outdir=outdir,
    )


def api_reference(value: dict[str, Any]) -> dict[str, Any]:
    """The one ``GetAtt`` inside an ``Fn::Join``."""
    (reference,) = [part for part in value["Fn::Join"][1] if isinstance(part, dict) and "Fn::GetAtt" in part]
    return reference


def test_the_api_lives_in_the_nested_stack(synthesized):
    resources = synthesized.nested["Resources"]
    assert resources["ParallelClusterFunction"]["Type"] == "AWS::Lambda::Function"
    assert resources["APIGatewayExecutionRole"]["Type"] == "AWS::IAM::Role"
    assert "ParallelClusterFunction" not in synthesized.parent["Resources"]
    # The stack has a Region, so the spec's location is known and the nested stack needs no parameter for it.
    body = synthesized.only(synthesized.nested, "AWS::ApiGateway::RestApi")["Properties"]["Body"]
    location = body["Fn::Transform"]["Parameters"]["Location"]
    assert location.startswith(f"s3://{TEST_REGION}-aws-parallelcluster/parallelcluster/")


def test_the_ci_role_may_invoke_the_nested_api(synthesized):
    ci_role_id = synthesized.logical_id(synthesized.stack.ci_role)
    trust = synthesized.parent["Resources"][ci_role_id]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "codebuild.amazonaws.com"}
    statements = [
        statement
        for resource in synthesized.parent["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": ci_role_id} in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    (invoke,) = [statement for statement in statements if statement["Action"] == "execute-api:Invoke"]
    assert invoke["Effect"] == "Allow"
    rest_api_id = synthesized.logical_id(synthesized.stack.api.rest_api)
    assert synthesized.nested_output(api_reference(invoke["Resource"])) == {"Ref": rest_api_id}
    assert render(invoke["Resource"]).startswith(f"arn:aws:execute-api:{TEST_REGION}:{ACCOUNT}:<")
    assert render(invoke["Resource"]).endswith(">/*/*/*")


def test_the_nested_api_resource_policy_admits_the_ci_role(synthesized):
    policy = synthesized.only(synthesized.nested, "AWS::ApiGateway::RestApi")["Properties"]["Policy"]
    (deny,) = [statement for statement in policy["Statement"] if statement["Effect"] == "Deny"]
    admitted = deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    # The CI role's ARN comes in as a parameter, which the parent sets from the role...
    parameters = synthesized.only(synthesized.parent, "AWS::CloudFormation::Stack")["Properties"]["Parameters"]
    from_parent = [parameters[item["Ref"]] for item in admitted if item.get("Ref") in parameters]
    assert from_parent == [{"Fn::GetAtt": [synthesized.logical_id(synthesized.stack.ci_role), "Arn"]}]
    # ... beside the API user role, whose ARN the nested stack builds from the role's name.
    assert any(":role/hpc-PCAPIUserRole-" in str(render(item)) for item in admitted)


def test_the_parent_outputs_the_invoke_url_under_the_official_name(synthesized):
    url = synthesized.parent["Outputs"]["ParallelClusterApiInvokeUrl"]["Value"]
    rest_api_id = synthesized.logical_id(synthesized.stack.api.rest_api)
    assert synthesized.nested_output(api_reference(url)) == {"Ref": rest_api_id}
    assert render(url).endswith(f".execute-api.{TEST_REGION}.amazonaws.com/prod")


def test_the_four_nag_packs_pass_and_audit_the_nested_stack_too(synthesized):
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    packs = [r for r in report["pluginReports"] if r["pluginName"] in audit.PACKS]
    assert sorted(r["pluginName"] for r in packs) == sorted(audit.PACKS)
    assert all(r["conclusion"] == "success" and not r.get("violations") for r in packs)
    acknowledged = {
        construct["constructPath"]
        for r in packs
        for violation in r.get("suppressedViolations", [])
        for construct in violation["violatingConstructs"]
    }
    assert any(path.startswith("HpcPlatform/ParallelClusterApi/Api/") for path in acknowledged)
    assert any(path.startswith("HpcPlatform/CiRole/") for path in acknowledged)


@pytest.mark.parametrize("template", ["parent", "nested"])
def test_cfn_lint_reports_nothing_but_w3005(synthesized, template):
    matches = cfnlint.api.lint(json.dumps(getattr(synthesized, template)), regions=[TEST_REGION])
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.id not in ACCEPTED_RULES] == []
