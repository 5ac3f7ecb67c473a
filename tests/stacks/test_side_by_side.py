"""APIs of several ParallelCluster versions side by side in one account and Region, one stack each.

Two stacks of the app, of different versions and stack names, are synthesized into one CDK app and
deployed (as CloudFormation would evaluate them) into the same account and Region: no physical
name, export or account-level resource of one may be one of the other's.
"""

from __future__ import annotations

import tempfile

import aws_cdk as cdk
import pytest

from constructs_lib.versions import SUPPORTED_PARALLELCLUSTER_VERSIONS
from stacks import ParallelClusterApiStack
from stacks.parallelcluster_api_stack import add_nag_packs
from stacks.settings import Settings
from tests.cloudformation import NO_VALUE, Deployment
from tests.conftest import ACCOUNT, PSEUDO_PARAMETERS, TEST_REGION, cdk_json_context

OLDEST, NEWEST = SUPPORTED_PARALLELCLUSTER_VERSIONS[0], SUPPORTED_PARALLELCLUSTER_VERSIONS[-1]
# The stack names the README suggests: the version without dots, as the ParallelCluster UI names its API stacks.
STACKS = {version: f"ParallelClusterApi{version.replace('.', '')}" for version in (OLDEST, NEWEST)}


def stack_id(name: str, uuid: str) -> str:
    return f"arn:aws:cloudformation:{TEST_REGION}:{ACCOUNT}:stack/{name}/{uuid}"


UUIDS = {OLDEST: "8131d980-7fb5-11ee-9589-0a6424944f95", NEWEST: "f2b6c3a0-1d4e-11ef-8a3b-06c1d2e3f4a5"}


@pytest.fixture(scope="module")
def deployed() -> dict[str, Deployment]:
    """Both stacks from one app, each evaluated with its own stack name and id."""
    app = cdk.App(context=cdk_json_context(), outdir=tempfile.mkdtemp(prefix="cdk-side-by-side-"))
    add_nag_packs(app, Settings().packs)
    stacks = {
        version: ParallelClusterApiStack(
            app,
            # The same prefix in both: the names it starts must still differ.
            settings=Settings.from_context(
                {"ParallelClusterVersion": version, "StackName": name, "Region": TEST_REGION, "IAMRoleAndPolicyPrefix": "hpc-"}
            ),
        )
        for version, name in STACKS.items()
    }
    assembly = app.synth()
    return {
        version: Deployment(
            assembly.get_stack_by_name(stack.stack_name).template,
            {"ApiDefinitionS3Uri": f"s3://{TEST_REGION}-aws-parallelcluster/parallelcluster/{version}/api/ParallelCluster.openapi.yaml"},
            {**PSEUDO_PARAMETERS, "AWS::StackName": STACKS[version], "AWS::StackId": stack_id(STACKS[version], UUIDS[version])},
        )
        for version, stack in stacks.items()
    }


# Properties that name a resource uniquely in an account and Region (or account, for IAM): two
# stacks that set the same value would collide (CloudFormation user guide, "Name type").
PHYSICAL_NAMES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::ApiGateway::DomainName": "DomainName",
    "AWS::ImageBuilder::ContainerRecipe": "Name",
    "AWS::ImageBuilder::ImagePipeline": "Name",
    "AWS::ImageBuilder::InfrastructureConfiguration": "Name",
    "AWS::ImageBuilder::DistributionConfiguration": "Name",
    "AWS::ImageBuilder::Component": "Name",
}


def physical_names(deployment: Deployment) -> dict[str, str]:
    """{name: where} for every name the stack gives a resource, and every export."""
    names = {}
    for logical_id, resource in deployment.resources().items():
        key = PHYSICAL_NAMES.get(resource["Type"])
        value = resource.get("Properties", {}).get(key) if key else None
        # A name made from another resource's (the function's log group, after the function CloudFormation
        # names) is as much the stack's own as that one.
        if isinstance(value, str) and "<" not in value:
            names[value] = f"{logical_id}.{key} ({resource['Type']})"
    for output_id, output in deployment.outputs().items():
        export = output.get("Export", {}).get("Name")
        if export not in (None, NO_VALUE):
            names[export] = f"output {output_id}"
    return names


def test_each_stack_serves_its_version(deployed):
    for version, deployment in deployed.items():
        assert deployment.template["Description"] == f"AWS ParallelCluster API {version}"
        tags = {tag["Value"] for resource in deployment.resources().values() for tag in resource.get("Properties", {}).get("Tags", [])
                if isinstance(tag, dict) and tag.get("Key") == "parallelcluster:version"}
        assert tags == {version}


def test_no_name_or_export_of_one_stack_is_the_other_s(deployed):
    oldest, newest = physical_names(deployed[OLDEST]), physical_names(deployed[NEWEST])
    # Not vacuous: roles, policies, functions, log groups, Image Builder resources, exports.
    assert len(oldest) > 15 and len(newest) > 15, sorted(oldest)
    shared = set(oldest) & set(newest)
    assert not shared, {name: (oldest[name], newest[name]) for name in shared}


def test_each_stack_has_its_own_image_build_and_account_role_offer(deployed):
    """Image Builder resources and the account role are per stack: deleting one leaves the other's."""
    for deployment in deployed.values():
        types = [resource["Type"] for resource in deployment.resources().values()]
        for resource_type in ("AWS::ImageBuilder::ImagePipeline", "AWS::ImageBuilder::ContainerRecipe", "AWS::ECR::Repository"):
            assert types.count(resource_type) == 1, resource_type
        # No stack owns the account's API Gateway settings: each only offers a role to the setter.
        assert "AWS::ApiGateway::Account" not in types
    recipes = [
        resource["Properties"]["Name"]
        for deployment in deployed.values()
        for resource in deployment.resources().values()
        if resource["Type"] == "AWS::ImageBuilder::ContainerRecipe"
    ]
    assert len(set(recipes)) == 2, recipes
