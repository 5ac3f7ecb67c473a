"""The operations the release really performs, checked against the function's policies.

Two sources, both produced by the release itself under moto (``tests/lambda_image``):

- every AWS call the real API handler made while it created, described, updated and deleted
  clusters and built and deleted images (the ``recorded_calls`` fixture), mapped to IAM
  authorizations with :func:`iam_actions.authorizations_for_call`;
- every IAM action CloudFormation needs to create, update and delete the resources of the cluster
  and image templates the release made (``cfn_permissions``): ParallelCluster creates its stacks
  without a service role, so CloudFormation calls each resource handler with the function's
  credentials (CloudFormation User Guide, "AWS CloudFormation service role": without a role,
  CloudFormation uses the caller's credentials).

Each becomes an :class:`iam_policy.Request` with the condition keys the real request carries,
evaluated against the policies a configuration synthesizes.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from tests.conftest import render
from tests.constructs_lib.parallelcluster_api.coverage import cfn_permissions, iam_actions, iam_policy
from tests.constructs_lib.parallelcluster_api.coverage.iam_policy import Request

# The Region the handler scenarios ran in (tests/lambda_image/events.py).
SCENARIO_REGION = "us-east-1"
# Services whose resources CloudFormation hands a role to, and the service the role is passed to
# (iam:PassedToService): the role is used by that service, not by CloudFormation.
PASSED_TO = {
    "AWS::Lambda::Function": "lambda.amazonaws.com",
    "AWS::EC2::Instance": "ec2.amazonaws.com",
    "AWS::EC2::LaunchTemplate": "ec2.amazonaws.com",
    "AWS::AutoScaling::AutoScalingGroup": "ec2.amazonaws.com",
    "AWS::ImageBuilder::InfrastructureConfiguration": "ec2.amazonaws.com",
    "AWS::IAM::InstanceProfile": "ec2.amazonaws.com",
    # The AWS Batch scheduler's resources (3.15 and older), each passed the role of the service that
    # assumes it (its trust policy): the project's service role, the job role, the ECS instance role.
    # The official policies allow Batch itself as well (BatchPassRole), which covers either reading.
    "AWS::CodeBuild::Project": "codebuild.amazonaws.com",
    "AWS::Batch::JobDefinition": "ecs-tasks.amazonaws.com",
    "AWS::Batch::ComputeEnvironment": "ec2.amazonaws.com",
}
# Service-linked roles CloudFormation's handlers create for a resource type (iam:AWSServiceName).
SERVICE_LINKED_ROLES = {
    "AWS::AutoScaling::AutoScalingGroup": "autoscaling.amazonaws.com",
    # Without a ServiceRole, a compute environment uses (and creates) AWSServiceRoleForBatch (Batch User Guide).
    "AWS::Batch::ComputeEnvironment": "batch.amazonaws.com",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "elasticloadbalancing.amazonaws.com",
    "AWS::FSx::FileSystem": "fsx.amazonaws.com",
    "AWS::EFS::FileSystem": "elasticfilesystem.amazonaws.com",
    "AWS::ImageBuilder::Image": "imagebuilder.amazonaws.com",
    "AWS::ImageBuilder::ImageRecipe": "imagebuilder.amazonaws.com",
    "AWS::ImageBuilder::InfrastructureConfiguration": "imagebuilder.amazonaws.com",
    "AWS::ImageBuilder::DistributionConfiguration": "imagebuilder.amazonaws.com",
    "AWS::ImageBuilder::Component": "imagebuilder.amazonaws.com",
}
# IAM prefixes that are not botocore service names (for the Region a global service's call names).
BOTOCORE_SERVICE = {"elasticfilesystem": "efs", "elasticloadbalancing": "elbv2", "tag": "resourcegroupstaggingapi"}
# Services that use a KMS key on the caller's behalf for the storage they create (kms:ViaService).
KMS_VIA_SERVICE = {"AWS::EC2::Volume": "ec2", "AWS::EFS::FileSystem": "elasticfilesystem", "AWS::FSx::FileSystem": "fsx"}
IMAGE_STACK_TAG = "parallelcluster:image_id"
IAM_ROLE_WRITES = {"iam:createrole", "iam:putrolepolicy", "iam:attachrolepolicy", "iam:detachrolepolicy", "iam:deleterolepolicy"}


@dataclass(frozen=True)
class Operation:
    """One authorization the release needs, where it comes from, and the policies' decision."""

    source: str  # "call" (the handler) or "cloudformation" (a resource handler)
    where: str  # the event and call, or the template, resource and handler
    why: str
    request: Request
    decision: iam_policy.Decision
    operation: str | None = None  # a call's service.Operation
    resource_type: str | None = None  # a CloudFormation resource's type

    @property
    def action(self) -> str:
        return self.request.action

    def describe(self, configuration: str, version: str) -> str:
        return (
            f"{self.action} denied in configuration {configuration!r} of ParallelCluster {version}: {self.where} ({self.why}); "
            f"resource {self.request.resource or '(not known)'}; {self.decision.reason}"
        )


@functools.cache
def _expand(pattern: str) -> tuple[str, ...]:
    """The SAR actions a pattern such as ``ec2:Describe*`` names (itself when it has no wildcard)."""
    if "*" not in pattern and "?" not in pattern:
        return (pattern,)
    prefix, _, name = pattern.partition(":")
    service = iam_actions.service_authorization_reference().get(prefix.lower()) or {}
    return tuple(f"{prefix}:{action}" for action in service.get("privileges", {}) if fnmatch.fnmatchcase(action.lower(), name.lower()))


def call_operations(
    recorded: Mapping[str, list[dict[str, Any]]],
    policies: Mapping[str, Mapping[str, Any]],
    *,
    region: str,
    account: str,
    partition: str = "aws",
) -> list[Operation]:
    """The recorded calls, as if made in ``region`` (the calls do not depend on which Region)."""
    operations = []
    parsed = iam_policy.parse(policies)
    # IAM evaluates a role's ARN with its path; calls after CreateRole name the role alone.
    role_paths = {
        call["params"]["RoleName"]: call["params"].get("Path", "/")
        for calls in recorded.values()
        for call in calls
        if (call["service"], call["operation"]) == ("iam", "CreateRole")
    }
    # IAM evaluates a call on a stack with the stack's tags (aws:ResourceTag): those the handler gave
    # it when it created it, earlier in the recorded sequence.
    stack_tags: dict[str, dict[str, str]] = {}
    for event, calls in recorded.items():
        for call in calls:
            call_region = region if call["region"] == SCENARIO_REGION else call["region"]
            params = in_region(call["params"], region)
            iam_path = role_paths.get(params.get("RoleName"), "/") if call["service"] == "iam" else "/"
            on_stack = stack_tags.get(params.get("StackName")) if call["service"] == "cloudformation" else None
            for authorization in iam_actions.authorizations_for_call(
                call["service"],
                call["operation"],
                params,
                partition=partition,
                region=call_region,
                account=account,
                iam_path=iam_path,
                resource_tags=on_stack,
            ):
                operations.append(
                    Operation(
                        "call",
                        f"{event}: {call['service']}.{call['operation']}",
                        authorization.why,
                        authorization.request,
                        iam_policy.evaluate(parsed, authorization.request),
                        operation=f"{call['service']}.{call['operation']}",
                    )
                )
            if (call["service"], call["operation"]) == ("cloudformation", "CreateStack"):
                stack_tags[params["StackName"]] = _tags(params.get("Tags"))
    return operations


def cloudformation_operations(
    templates: Mapping[str, dict[str, Any]],
    policies: Mapping[str, Mapping[str, Any]],
    *,
    region: str,
    account: str,
    boundary: str | None,
    partition: str = "aws",
) -> list[Operation]:
    """What CloudFormation does with the function's credentials for each template's resources.

    ``boundary``: the permissions boundary of the configuration. In ParallelCluster's
    PermissionsBoundary mode the cluster's and image's configurations name the same boundary
    (``Iam/PermissionsBoundary``, ``Build/Iam/PermissionsBoundary``), which the release sets on
    every role of their stacks (``templates/cdk_builder_utils.py``); IAM then sees it as
    ``iam:PermissionsBoundary`` of those role writes.
    """
    operations = []
    parsed = iam_policy.parse(policies)
    for name, created in templates.items():
        created = in_region(created, region)
        requirements = cfn_permissions.stack_requirements(
            created, template_name=name, partition=partition, region=region, account=account
        )
        resources = {("stack", logical_id): resource for logical_id, resource in created["stack"]["Resources"].items()}
        for nested_id, nested in created["nested"].items():
            resources.update({(nested_id, logical_id): resource for logical_id, resource in nested["Resources"].items()})
        stack_tags = _tags(created.get("stack_tags"))
        for requirement in requirements:
            # ParallelCluster never updates an image stack: there is no update-image operation.
            if requirement.handler == "update" and IMAGE_STACK_TAG in stack_tags:
                continue
            resource = resources[(requirement.stack, requirement.logical_id)]
            for request in _requests(requirement, resource, stack_tags, region=region, partition=partition, boundary=boundary):
                operations.append(
                    Operation(
                        "cloudformation",
                        f"{name} {requirement.stack}/{requirement.logical_id} ({requirement.resource_type}, {requirement.handler})",
                        requirement.why,
                        request,
                        iam_policy.evaluate(parsed, request),
                        resource_type=requirement.resource_type,
                    )
                )
    return operations


def _requests(
    requirement: cfn_permissions.Requirement,
    resource: dict[str, Any],
    stack_tags: Mapping[str, str],
    *,
    region: str,
    partition: str,
    boundary: str | None,
) -> Iterable[Request]:
    properties = resource.get("Properties", {})
    resource_tags = {**stack_tags, **_tags(properties.get("Tags"))}
    for action in _expand(requirement.action):
        supported = iam_actions.supported_condition_keys(action)
        context: dict[str, Any] = {
            "aws:RequestedRegion": _requested_region(action.split(":")[0], region, partition)
        }
        if requirement.handler == "create" and "aws:tagkeys" in supported:
            context["aws:TagKeys"] = list(resource_tags)
        if requirement.handler == "create" and "aws:requesttag/${tagkey}" in supported:
            context.update({f"aws:RequestTag/{key}": value for key, value in resource_tags.items()})
        if requirement.handler != "create" and "aws:resourcetag/${tagkey}" in supported:
            context.update({f"aws:ResourceTag/{key}": value for key, value in resource_tags.items()})
        if action.lower() in IAM_ROLE_WRITES and boundary is not None and "iam:permissionsboundary" in supported:
            context["iam:PermissionsBoundary"] = boundary
        if action.lower().startswith("kms:") and requirement.resource_type in KMS_VIA_SERVICE:
            context["kms:ViaService"] = f"{KMS_VIA_SERVICE[requirement.resource_type]}.{region}.amazonaws.com"
            if action.lower() == "kms:creategrant":
                context["kms:GrantIsForAWSResource"] = True
        if action.lower() == "iam:createservicelinkedrole" and requirement.resource_type in SERVICE_LINKED_ROLES:
            context["iam:AWSServiceName"] = SERVICE_LINKED_ROLES[requirement.resource_type]
        if action.lower() == "iam:passrole" and requirement.resource_type in PASSED_TO:
            context["iam:PassedToService"] = PASSED_TO[requirement.resource_type]
        if action.lower() in ("iam:attachrolepolicy", "iam:detachrolepolicy"):
            for policy_arn in properties.get("ManagedPolicyArns") or []:
                yield Request(action, requirement.resource_arn, {**context, "iam:PolicyARN": _rendered(policy_arn, region, partition)})
            continue
        yield Request(action, requirement.resource_arn, context)


@functools.cache
def _requested_region(prefix: str, region: str, partition: str) -> str:
    """The Region a call of this IAM prefix names: a global service's endpoint Region, else ``region``."""
    try:
        return iam_actions.requested_region(BOTOCORE_SERVICE.get(prefix, prefix), region, partition)
    except botocore.exceptions.UnknownServiceError:  # a prefix without an SDK of its own (managed-fleets)
        return region


def _tags(tags: Any) -> dict[str, str]:
    if isinstance(tags, list):
        return {str(tag["Key"]): str(tag.get("Value")) for tag in tags if isinstance(tag, dict) and "Key" in tag}
    if isinstance(tags, dict):
        return {str(key): str(value) for key, value in tags.items()}
    return {}


def _rendered(value: Any, region: str, partition: str) -> str:
    """A policy ARN as CloudFormation resolves it (the release writes Fn::Sub and Fn::Join forms)."""
    return str(render(value, {"AWS::Region": region, "AWS::Partition": partition}))


def in_region(value: Any, region: str) -> Any:
    """``value`` as the scenarios would have made it in ``region`` (ARNs, availability zones...)."""
    if region == SCENARIO_REGION:
        return value
    if isinstance(value, str):
        return value.replace(SCENARIO_REGION, region)
    if isinstance(value, list):
        return [in_region(item, region) for item in value]
    if isinstance(value, dict):
        return {key: in_region(item, region) for key, item in value.items()}
    return value


def denied(operations: Iterable[Operation]) -> list[Operation]:
    return [operation for operation in operations if not operation.decision.allowed]
