"""The in-account image build: recipe, infrastructure, first image, pipeline, updates, cleanup."""

from __future__ import annotations

import dataclasses
import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr

from constructs_lib.api_image import locks
from constructs_lib.api_image.dockerfile import RecipeDockerfile, build_recipe_dockerfile, copy_recipe_dockerfile
from constructs_lib.api_image.image_build import ApiImageBuild
from constructs_lib.conventions import Conventions
from constructs_lib.validation import CONTAINER_IMAGE_URI
from tests.cloudformation import Deployment
from tests.conftest import ACCOUNT, TEST_REGION, render, synthesize
from tests.constructs_lib.parallelcluster_api.coverage.cfn_permissions import resource_schema


def test_default_builds_lambda_image_in_the_account(default):
    recipe = default.only("AWS::ImageBuilder::ContainerRecipe")["Properties"]
    expected = build_recipe_dockerfile("3.16.1")
    assert recipe["DockerfileTemplateData"] == expected.template_data
    assert recipe["ParentImage"] == expected.parent_image
    assert recipe["Version"] == "3.16.1"
    assert recipe["ContainerType"] == "DOCKER"
    (repository_id,) = default.resources("AWS::ECR::Repository")
    assert recipe["TargetRepository"] == {"Service": "ECR", "RepositoryName": {"Ref": repository_id}}


def test_function_runs_the_image_built_during_stack_creation(default):
    (image_id,) = default.resources("AWS::ImageBuilder::Image")
    image_uri = json.dumps(default.template["Resources"]["ParallelClusterFunction"]["Properties"]["Code"]["ImageUri"])
    assert json.dumps({"Fn::GetAtt": [image_id, "ImageUri"]}) in image_uri
    image = default.resources("AWS::ImageBuilder::Image")[image_id]["Properties"]
    assert image["ImageTestsConfiguration"] == {"ImageTestsEnabled": False}


def test_build_instance_is_locked_down(default):
    infrastructure = default.only("AWS::ImageBuilder::InfrastructureConfiguration")["Properties"]
    assert infrastructure["TerminateInstanceOnFailure"] is True
    # IMDSv2 only, with the two hops a container build needs (Image Builder API reference,
    # InstanceMetadataOptions): with one hop the build cannot reach the metadata service from Docker.
    assert infrastructure["InstanceMetadataOptions"] == {"HttpTokens": "required", "HttpPutResponseHopLimit": 2}
    (topic_id,) = default.resources("AWS::SNS::Topic")
    assert infrastructure["SnsTopicArn"] == {"Ref": topic_id}
    assert "SubnetId" not in infrastructure and "SecurityGroupIds" not in infrastructure
    (profile_id, profile), = default.resources("AWS::IAM::InstanceProfile").items()
    assert infrastructure["InstanceProfileName"] == {"Ref": profile_id}


def test_build_instance_may_push_only_to_the_stack_repository(default):
    (repository_id,) = default.resources("AWS::ECR::Repository")
    (build_policy,) = [
        policy for policy in default.resources("AWS::IAM::ManagedPolicy").values()
        if "image build instance" in policy["Properties"]["Description"]
    ]
    statements = {s["Sid"]: s for s in build_policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["PushImage"]["Resource"] == {"Fn::GetAtt": [repository_id, "Arn"]}
    assert "ecr:PutImage" in statements["PushImage"]["Action"]
    every_action = [a for s in statements.values() for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert not any(action.endswith("*") for action in every_action)


def test_subnet_settings_place_the_build_in_its_own_egress_only_security_group():
    synthesized = synthesize("image-builder-subnet")
    infrastructure = synthesized.only("AWS::ImageBuilder::InfrastructureConfiguration")["Properties"]
    (group_id, group), = synthesized.resources("AWS::EC2::SecurityGroup").items()
    assert infrastructure["SubnetId"] == "subnet-0123456789abcdef0"
    assert infrastructure["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]
    assert group["Properties"]["VpcId"] == "vpc-0123456789abcdef0"
    assert "SecurityGroupIngress" not in group["Properties"]
    (egress,) = group["Properties"]["SecurityGroupEgress"]
    assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 443, 443)


def test_notifications_are_encrypted_and_tls_only(default):
    topic = default.only("AWS::SNS::Topic")["Properties"]
    (key_id, key), = default.resources("AWS::KMS::Key").items()
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    (policy,) = default.resources("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [s["Condition"] for s in statements if s["Effect"] == "Deny"]


def test_only_image_builder_may_publish_to_the_topic(default):
    """Every principal of the account but Image Builder's service-linked role is denied sns:Publish.

    Requests of AWS services, or made by them on a principal's behalf, are not denied (Image Builder
    may check the deployer's right to publish when it creates the infrastructure configuration).
    """
    (topic_id,) = default.resources("AWS::SNS::Topic")
    (policy,) = default.resources("AWS::SNS::TopicPolicy").values()
    (deny,) = [s for s in render(policy["Properties"]["PolicyDocument"]["Statement"]) if s.get("Sid") == "OnlyImageBuilderPublishes"]
    assert (deny["Effect"], deny["Principal"], deny["Action"], deny["Resource"]) == ("Deny", {"AWS": "*"}, "sns:Publish", f"<{topic_id}>")
    assert deny["Condition"] == {
        "StringNotEquals": {"aws:PrincipalArn": SERVICE_ROLE_ARN},
        "Bool": {"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"},
    }
    # Nothing else in the policy allows publishing.
    assert not [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]


SERVICE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/imagebuilder.amazonaws.com/AWSServiceRoleForImageBuilder"


def test_notifications_key_lets_image_builder_service_role_publish(default):
    """Image Builder user guide, "Encrypted SNS topics": the key policy grants the service role itself.

    Naming the account root with a condition on the role only delegates to IAM, and the role's own
    policy grants no use of this key: notifications would never be published.
    """
    (key_id, key), = default.resources("AWS::KMS::Key").items()
    statements = render(key["Properties"]["KeyPolicy"]["Statement"])
    (grant,) = [s for s in statements if s.get("Principal") != {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}]
    assert grant["Effect"] == "Allow"
    assert grant["Principal"] == {"AWS": SERVICE_ROLE_ARN}
    assert set(grant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert "Condition" not in grant
    # Partition-aware in the template itself.
    assert "arn:aws:" not in json.dumps(key["Properties"]["KeyPolicy"])


def test_service_linked_role_exists_before_the_key_names_it(default):
    """KMS refuses a key policy naming a role that does not exist; a fresh account has none yet."""
    (key_id, key), = default.resources("AWS::KMS::Key").items()
    (role_id, role), = default.resources("Custom::ServiceLinkedRole").items()
    assert role["Properties"]["ServiceName"] == "imagebuilder.amazonaws.com"
    assert role["Properties"]["RoleName"] == "AWSServiceRoleForImageBuilder"
    assert role_id in key["DependsOn"]
    function = default.helper_function("api_image", "ensure_service_linked_role")
    assert role["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function_id(default, function), "Arn"]}
    statements = render(policy_statements(default, function))
    assert {"Action": "iam:CreateServiceLinkedRole", "Effect": "Allow", "Resource": SERVICE_ROLE_ARN,
            "Condition": {"StringEquals": {"iam:AWSServiceName": "imagebuilder.amazonaws.com"}}} in statements
    assert {"Action": "iam:GetRole", "Effect": "Allow", "Resource": SERVICE_ROLE_ARN} in statements
    # No permission to delete it: the role is the account's, not the stack's.
    assert not any("iam:Delete" in json.dumps(s["Action"]) for s in statements)


def function_id(synthesized, function) -> str:
    (logical_id,) = [i for i, r in synthesized.template["Resources"].items() if r is function]
    return logical_id


def policy_statements(synthesized, function) -> list:
    """Every statement of the managed policies of a function's role."""
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synthesized.resources("AWS::IAM::ManagedPolicy").values()
        if policy["Properties"]["Roles"] == [{"Ref": role_id}]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def updater(synthesized):
    return synthesized.helper_function("api_image", "update_function_image")


def test_updater_knows_what_this_stack_builds(default):
    """The updater accepts only images of this recipe and infrastructure, in this repository."""
    function = updater(default)["Properties"]
    (recipe_id,) = default.resources("AWS::ImageBuilder::ContainerRecipe")
    (infrastructure_id,) = default.resources("AWS::ImageBuilder::InfrastructureConfiguration")
    (repository_id,) = default.resources("AWS::ECR::Repository")
    variables = function["Environment"]["Variables"]
    assert variables["FUNCTION_NAME"] == {"Ref": "ParallelClusterFunction"}
    assert variables["RECIPE_ARN"] == {"Fn::GetAtt": [recipe_id, "Arn"]}
    assert variables["INFRASTRUCTURE_ARN"] == {"Fn::GetAtt": [infrastructure_id, "Arn"]}
    (pipeline_id,) = default.resources("AWS::ImageBuilder::ImagePipeline")
    assert variables["PIPELINE_ARN"] == {"Fn::GetAtt": [pipeline_id, "Arn"]}
    assert variables["REPOSITORY_NAME"] == {"Ref": repository_id}
    uri = json.dumps(variables["REPOSITORY_URI"])
    assert ".dkr.ecr." in uri and uri.endswith(json.dumps({"Ref": repository_id}) + "]]}")
    # The tag it moves is the one the lifecycle policy never expires.
    (repository,) = default.resources("AWS::ECR::Repository").values()
    rules = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert rules[0]["rulePriority"] == 1 and rules[0]["selection"]["tagPatternList"] == [variables["RUNNING_TAG"]]
    assert function["Runtime"] == "python3.14"
    assert "DeadLetterConfig" in function


def test_updater_may_read_this_recipes_images_tag_this_repository_and_update_the_api_function(default):
    function = updater(default)
    (recipe_id,) = default.resources("AWS::ImageBuilder::ContainerRecipe")
    (repository_id,) = default.resources("AWS::ECR::Repository")
    statements = {s.get("Sid"): s for s in policy_statements(default, function)}
    # The images of this stack's recipe: image/<the recipe's name, as in the recipe's ARN>/*.
    recipe_name = {"Fn::Select": [1, {"Fn::Split": ["/", {"Fn::GetAtt": [recipe_id, "Arn"]}]}]}
    assert statements["ReadRecipeImages"]["Action"] == ["imagebuilder:GetImage", "imagebuilder:ListImageBuildVersions"]
    assert statements["ReadRecipeImages"]["Resource"] == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":imagebuilder:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
        ":image/", recipe_name, "/*"]]}
    statements = {sid: render(statement) for sid, statement in statements.items() if sid != "ReadRecipeImages"}
    assert sorted(statements["TagRunningImage"]["Action"]) == ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:PutImage"]
    assert statements["TagRunningImage"]["Resource"] == f"<{repository_id}.Arn>"
    # It reads the function's revision and updates only the revision it checked.
    assert statements["UpdateFunction"]["Action"] == ["lambda:GetFunctionConfiguration", "lambda:UpdateFunctionCode"]
    assert statements["UpdateFunction"]["Resource"] == "<ParallelClusterFunction.Arn>"


def test_only_the_topic_may_invoke_the_updater(default):
    (topic_id,) = default.resources("AWS::SNS::Topic")
    function_logical_id = function_id(default, updater(default))
    permissions = [
        p["Properties"] for p in default.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_logical_id, "Arn"]}
    ]
    assert permissions == [{
        "Action": "lambda:InvokeFunction", "FunctionName": {"Fn::GetAtt": [function_logical_id, "Arn"]},
        "Principal": "sns.amazonaws.com", "SourceArn": {"Ref": topic_id},
    }]
    (subscription,) = default.resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "lambda"
    assert subscription["Properties"]["TopicArn"] == {"Ref": topic_id}


def test_first_build_waits_for_the_preflight(default):
    """A build that cannot work fails the stack before the build, naming the setting to change."""
    (preflight_id, preflight), = default.resources("Custom::ImageBuildPreflight").items()
    (image,) = default.resources("AWS::ImageBuilder::Image").values()
    (recipe_id,) = default.resources("AWS::ImageBuilder::ContainerRecipe")
    assert preflight_id in image["DependsOn"]
    # The default VPC is checked; each new recipe (a new first build) is checked again.
    assert set(preflight["Properties"]) == {"ServiceToken", "ServiceTimeout", "RecipeArn"}
    assert preflight["Properties"]["RecipeArn"] == {"Fn::GetAtt": [recipe_id, "Arn"]}
    function = default.helper_function("api_image", "check_build_network")
    (statement,) = [s for s in policy_statements(default, function) if s.get("Sid") == "ReadNetworkAndAccountSettings"]
    assert all(action.startswith(("ec2:Describe", "ec2:Get")) for action in statement["Action"])
    assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": {"Ref": "AWS::Region"}}}


def test_preflight_checks_the_given_vpc_and_subnet():
    synthesized = synthesize("image-builder-subnet")
    preflight = synthesized.only("Custom::ImageBuildPreflight")["Properties"]
    infrastructure = synthesized.only("AWS::ImageBuilder::InfrastructureConfiguration")["Properties"]
    assert preflight["SubnetId"] == infrastructure["SubnetId"] == "subnet-0123456789abcdef0"
    assert preflight["VpcId"] == "vpc-0123456789abcdef0"


def test_pipeline_images_are_deleted_with_the_stack(default):
    (pipeline_id,) = default.resources("AWS::ImageBuilder::ImagePipeline")
    (cleanup,) = default.resources("Custom::PipelineImagesCleanup").values()
    assert cleanup["Properties"]["ImagePipelineArn"] == {"Fn::GetAtt": [pipeline_id, "Arn"]}
    assert cleanup["DeletionPolicy"] == "Delete"
    function = default.helper_function("api_image", "delete_pipeline_images")
    # Bounded: the handler answers before this timeout even when work is left.
    assert function["Properties"]["Timeout"] == 300


def test_pipeline_and_image_outputs(default):
    (pipeline_id,) = default.resources("AWS::ImageBuilder::ImagePipeline")
    (image_id,) = default.resources("AWS::ImageBuilder::Image")
    outputs = default.template["Outputs"]
    assert outputs["ParallelClusterDockerUpdateImagePipeline"]["Value"] == {"Fn::GetAtt": [pipeline_id, "Arn"]}
    assert outputs["UriOfCopyOfPublicEcrImage"]["Value"] == {"Fn::GetAtt": [image_id, "ImageUri"]}


def test_public_image_is_copied_as_it_is():
    recipe = synthesize("public-image").only("AWS::ImageBuilder::ContainerRecipe")["Properties"]
    assert recipe["ParentImage"] == "public.ecr.aws/parallelcluster/pcluster-api:3.5.1"
    assert recipe["DockerfileTemplateData"] == "FROM {{{ imagebuilder:parentImage }}}\n"


@pytest.mark.parametrize("configuration", ["ecr-image", "local-image"])
def test_no_pipeline_when_the_image_comes_from_elsewhere(configuration):
    synthesized = synthesize(configuration)
    assert synthesized.resources("AWS::ImageBuilder::ImagePipeline") == {}
    assert "ParallelClusterDockerUpdateImagePipeline" not in synthesized.template["Outputs"]


def test_local_image_is_a_cdk_image_asset_of_lambda_image():
    synthesized = synthesize("local-image")
    assert synthesized.resources("AWS::ECR::Repository") == {}
    image_uri = render(synthesized.template["Resources"]["ParallelClusterFunction"]["Properties"]["Code"]["ImageUri"])
    assert image_uri.startswith(f"{ACCOUNT}.dkr.ecr.{TEST_REGION}.amazonaws.com/cdk-")


def test_local_image_builds_with_the_lock_of_its_version_and_nothing_else():
    synthesized = synthesize("local-image")
    (image,) = json.loads((synthesized.outdir / "ParallelClusterApi.assets.json").read_text())["dockerImages"].values()
    assert image["source"]["dockerBuildArgs"] == {"PARALLELCLUSTER_VERSION": "3.16.1"}
    context = synthesized.outdir / image["source"]["directory"]
    files = sorted(path.relative_to(context).as_posix() for path in context.rglob("*") if path.is_file())
    assert files == ["Dockerfile", "locks/3.16.1.txt"]
    assert (context / "locks" / "3.16.1.txt").read_bytes() == locks.lock_file("3.16.1").read_bytes()


def recipe_name(recipe: RecipeDockerfile) -> str:
    stack = cdk.Stack(cdk.App())
    build = ApiImageBuild(
        stack, "Build", recipe=recipe, recipe_version="3.16.1",
        repository=ecr.Repository(stack, "Repository"),
        conventions=Conventions.of(stack, prefix="", logs_key=None),
    )
    return render(stack.resolve(build.recipe.name))


def test_a_recipe_is_named_after_its_content_and_the_stack():
    """Recipes are immutable: CloudFormation must replace the recipe, under a new name."""
    original = build_recipe_dockerfile("3.16.1")
    changed = dataclasses.replace(original, name=f"{original.name}x")
    assert recipe_name(original) != recipe_name(changed)
    assert recipe_name(original) == f"{original.name}-8131d980"


def test_a_copied_image_names_its_recipe_in_the_app_and_at_deploy_time():
    """The recipe of a copied image is named after the image, so the template names it at deploy time."""
    uri = "public.ecr.aws/parallelcluster/pcluster-api@sha256:" + "0" * 64
    assert copy_recipe_dockerfile(uri).name == "public-ecr-aws-parallelcluster-pcluster-api-sha256-" + "0" * 64
    stack = cdk.Stack(cdk.App())
    parameter = cdk.CfnParameter(stack, "Image")
    at_deploy_time = stack.resolve(copy_recipe_dockerfile(parameter.value_as_string).name)
    deployment = Deployment({"Parameters": {"Image": {"Type": "String"}}, "Resources": {}}, {"Image": uri})
    assert deployment.value(at_deploy_time) == copy_recipe_dockerfile(uri).name


def test_the_longest_image_uri_accepted_names_a_valid_recipe():
    """The recipe name the longest accepted image URI makes fits the name pattern of the
    AWS::ImageBuilder::ContainerRecipe schema (as cfn-lint bundles it); a longer URI is refused."""
    name_pattern = resource_schema("AWS::ImageBuilder::ContainerRecipe")["properties"]["Name"]["pattern"]
    registry = "public.ecr.aws/"
    longest = registry + "r" * (119 - len(registry) - len(":1")) + ":1"
    assert len(longest) == 119 and CONTAINER_IMAGE_URI.matches(longest)
    stack = cdk.Stack(cdk.App())
    build = ApiImageBuild(
        stack, "Build", recipe=copy_recipe_dockerfile(longest), recipe_version="3.16.1",
        repository=ecr.Repository(stack, "Repository"),
        conventions=Conventions.of(stack, prefix="", logs_key=None),
    )
    assert re.fullmatch(name_pattern, render(stack.resolve(build.recipe.name)))
    assert not CONTAINER_IMAGE_URI.matches(registry + "r" + longest[len(registry) :])


def test_notifications_key_goes_with_the_stack(default):
    (key,) = default.resources("AWS::KMS::Key").values()
    assert key["DeletionPolicy"] == "Delete"
    assert key["Properties"]["PendingWindowInDays"] == 7
