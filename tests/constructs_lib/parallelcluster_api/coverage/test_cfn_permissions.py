"""What CloudFormation needs with the function's credentials, for the templates ParallelCluster made."""

from __future__ import annotations

import copy

import pytest

from tests.constructs_lib.parallelcluster_api.coverage import cfn_permissions as cfn
from tests.lambda_image.events import ACCOUNT, REGION

# The templates come from the handler's moto batch (tests/lambda_image/batches.py), run once per session.
pytestmark = [pytest.mark.lambda_image, pytest.mark.xdist_group("lambda_image")]


@pytest.fixture(scope="module")
def required(pcluster_templates) -> dict[str, list[cfn.Requirement]]:
    return {
        name: cfn.stack_requirements(created, template_name=name, partition="aws", region=REGION, account=ACCOUNT)
        for name, created in pcluster_templates.items()
    }


def actions(requirements, **where) -> set[str]:
    return {r.action for r in requirements if all(getattr(r, key) == value for key, value in where.items())}


def context(stack_name: str = "full") -> cfn.Context:
    return cfn.Context("aws", REGION, ACCOUNT, stack_name)


def test_every_configuration_made_a_stack(pcluster_templates, served_release):
    batch = {"awsbatch-cluster"} if served_release.awsbatch else set()
    assert set(pcluster_templates) == {"full-cluster", "default-cluster", "build-image", *batch}
    for created in pcluster_templates.values():
        # No service role: CloudFormation acts with the function's credentials.
        assert created["service_role"] is False


def test_every_resource_type_is_accounted_for(pcluster_templates):
    # Each type has registry handlers in cfn-lint's schemas or a reviewed LEGACY entry; none is skipped.
    for created in pcluster_templates.values():
        for template in [created["stack"], *created["nested"].values()]:
            for resource in template["Resources"].values():
                schema = cfn.resource_schema(resource["Type"])
                assert resource["Type"] in cfn.LEGACY or (schema and "handlers" in schema), resource["Type"]


def test_conditional_table_names_real_actions_and_properties():
    # A reviewed entry that no longer matches its schema (renamed property, dropped action) must not pass silently.
    for resource_type, entries in cfn.CONDITIONAL.items():
        schema = cfn.resource_schema(resource_type)
        listed = {a for h in schema["handlers"].values() for a in h.get("permissions", [])}
        for entry in entries:
            for pattern in entry.actions:
                assert any(cfn._matches(pattern, action) for action in listed), (resource_type, pattern)
            for path in entry.when:
                if path == cfn.STACK_ROLE or path.startswith("DeletionPolicy"):
                    continue
                assert path.split(".")[0] in schema["properties"], (resource_type, path)


def test_alarms_and_dashboard_need_cloudwatch_tag_resource(required):
    # aws/aws-parallelcluster issue 7331: CloudFormation tags the alarms with the stack's tags.
    for name in ("full-cluster", "default-cluster"):
        for resource_type in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm", "AWS::CloudWatch::Dashboard"):
            tagging = [r for r in required[name] if r.resource_type == resource_type and r.action == "cloudwatch:TagResource"
                       and r.handler == "create" and r.why.startswith("tagging")]
            assert tagging, (name, resource_type)
    alarm = next(r for r in required["full-cluster"] if r.logical_id.startswith("HeadNodeCpuAlarm"))
    assert alarm.resource_arn == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:full-HeadNode-Cpu"


def test_customer_key_needs_kms_only_where_the_template_sets_it(required, moto_handler_batch):
    key_arn = moto_handler_batch[0]["seeded"]["KmsKeyArn"]
    for resource_type in ("AWS::EC2::Volume", "AWS::EFS::FileSystem", "AWS::FSx::FileSystem"):
        grants = [r for r in required["full-cluster"] if r.resource_type == resource_type and r.action == "kms:CreateGrant"]
        assert grants and {r.resource_arn for r in grants} == {key_arn}, resource_type
    # ParallelCluster's own functions set no KmsKeyArn: Lambda's kms:* are left out.
    assert not {a for a in actions(required["default-cluster"], resource_type="AWS::Lambda::Function") if a.startswith("kms:")}


def test_conditional_action_comes_back_when_the_property_is_set(pcluster_templates):
    template = copy.deepcopy(pcluster_templates["default-cluster"]["stack"])
    [function_id] = [i for i, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"][:1]
    before = actions(cfn.required(template, template_name="t", context=context()), logical_id=function_id)
    template["Resources"][function_id]["Properties"]["KmsKeyArn"] = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"
    template["Resources"][function_id]["Properties"]["VpcConfig"] = {"SubnetIds": ["subnet-1"]}
    after = actions(cfn.required(template, template_name="t", context=context()), logical_id=function_id)
    assert after - before == {"kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
                              "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeNetworkInterfaces"}


def test_snapshot_deletion_policy_needs_create_snapshot(required):
    snapshot = [r for r in required["full-cluster"] if r.resource_type == "AWS::EC2::Volume" and r.action == "ec2:CreateSnapshot"]
    assert [r.handler for r in snapshot] == ["delete"]


def test_custom_resources_invoke_parallelcluster_functions(required):
    invokes = [r for r in required["full-cluster"] if r.action == "lambda:InvokeFunction"]
    assert invokes and {r.handler for r in invokes} == {"create", "update", "delete"}
    assert {r.resource_arn for r in invokes} == {
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pcluster-CleanupResources-*",
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pcluster-CleanupRoute53-*",
    }


def test_pass_role_names_the_roles_under_parallelcluster(required):
    passes = {r.resource_arn for r in required["full-cluster"] if r.action == "iam:PassRole" and r.resource_arn}
    assert passes and all(arn.startswith(f"arn:aws:iam::{ACCOUNT}:role/parallelcluster/") for arn in passes)


def test_nested_stacks_need_no_pass_role_without_a_service_role(required, pcluster_templates):
    nested = [r for r in required["full-cluster"] if r.resource_type == "AWS::CloudFormation::Stack"]
    assert actions(nested, handler="create") == {"cloudformation:DescribeStacks", "cloudformation:CreateStack"}
    with_role = dict(pcluster_templates["full-cluster"], service_role=True)
    again = cfn.stack_requirements(with_role, template_name="full-cluster", partition="aws", region=REGION, account=ACCOUNT)
    assert "iam:PassRole" in actions(again, resource_type="AWS::CloudFormation::Stack", handler="create")


def test_image_stack(required):
    image = required["build-image"]
    assert {"imagebuilder:CreateImage", "imagebuilder:CreateImageRecipe", "imagebuilder:CreateComponent",
            "imagebuilder:CreateInfrastructureConfiguration", "imagebuilder:CreateDistributionConfiguration",
            "sns:CreateTopic", "lambda:CreateFunction", "iam:CreateInstanceProfile"} <= actions(image, handler="create")
    recipe = next(r for r in image if r.action == "imagebuilder:CreateImageRecipe")
    assert recipe.resource_arn == f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image-recipe/parallelclusterimage-hpc-image/*"
