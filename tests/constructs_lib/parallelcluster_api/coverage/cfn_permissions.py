"""What CloudFormation does with the API function's credentials, for the stacks ParallelCluster creates.

ParallelCluster creates its cluster and image stacks without a service role (the CreateStack calls
the handler makes carry no RoleARN), and then, as documented for stacks without one, CloudFormation
makes every call of every resource handler with the caller's credentials: the function's. So the
function needs, for each resource of those templates, the permissions that the resource type's
handlers list. The registry schemas that cfn-lint bundles
(``cfnlint/data/schemas/providers/<region>.json`` -> ``resources/<hash>.json``) give them in
``handlers.{create,update,delete}.permissions`` and ``tagging.permissions``.

A handler's list is a superset: it names what the handler may need for any property (Lambda's
create lists KMS, VPC and EFS actions). So an action is required unless CONDITIONAL, a reviewed
table, says which property it serves and the template leaves that property unset. Types that are not
in the registry (no handlers in their schema) get their actions from LEGACY, a reviewed table too.

Tags: ParallelCluster tags its stacks, CloudFormation propagates stack tags to every resource that
supports tags, and applies its own aws:cloudformation:* tags where the schema says
``cloudFormationSystemTags``; so a taggable type's ``tagging.permissions`` are required on create and
update (aws/aws-parallelcluster issue 7331: creating a cluster failed on cloudwatch:TagResource).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cfnlint

from tests.conftest import render

SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"
HANDLERS = ("create", "update", "delete")


@dataclass(frozen=True)
class Requirement:
    """One IAM action CloudFormation needs for one resource of one template, and why."""

    template: str  # the configuration that produced the template, e.g. "full-cluster"
    stack: str  # "stack" for the top-level template, else the logical id of the nested stack
    resource_type: str
    logical_id: str
    handler: str  # create, update or delete
    action: str  # as the schema spells it; may contain wildcards (ec2:Describe*)
    why: str
    # What the action acts on, where the template determines it: the resource itself, or the KMS key,
    # role or code object it names; "*" stands for what CloudFormation generates (names, ids).
    resource_arn: str | None = None


@dataclass(frozen=True)
class Conditional:
    """Actions a resource handler calls only for a property (or attribute) that the template sets.

    In LEGACY, an entry without ``when`` lists actions the handler always calls.
    """

    actions: tuple[str, ...]
    when: tuple[str, ...]  # property paths ("Code.S3Bucket", "DefaultActions.*.AuthenticateCognitoConfig"); any set
    why: str




# The stack's service role (CreateStack's RoleARN), which ParallelCluster never passes.
STACK_ROLE = "<service role of the stack>"

# Reviewed: each entry names actions of the type's handler lists that serve only the properties named.
# "DeletionPolicy:Snapshot" is the resource attribute with that value.
CONDITIONAL: dict[str, tuple[Conditional, ...]] = {
    "AWS::AutoScaling::AutoScalingGroup": (
        Conditional(("vpc-lattice:*", "autoscaling:AttachTrafficSources", "autoscaling:DetachTrafficSources"),
                    ("TrafficSources",), "VPC Lattice target groups are traffic sources"),
        Conditional(("autoscaling:PutNotificationConfiguration", "autoscaling:DeleteNotificationConfiguration"),
                    ("NotificationConfigurations", "NotificationConfiguration"), "SNS notifications of the group"),
        Conditional(("autoscaling:EnableMetricsCollection", "autoscaling:DisableMetricsCollection"),
                    ("MetricsCollection",), "group metrics collection"),
        Conditional(("autoscaling:AttachLoadBalancers", "autoscaling:DetachLoadBalancers"),
                    ("LoadBalancerNames",), "Classic Load Balancers"),
        Conditional(("autoscaling:AttachLoadBalancerTargetGroups", "autoscaling:DetachLoadBalancerTargetGroups"),
                    ("TargetGroupARNs",), "target groups of the group"),
        Conditional(("autoscaling:PutLifecycleHook", "autoscaling:DeleteLifecycleHook"),
                    ("LifecycleHookSpecificationList",), "lifecycle hooks"),
    ),
    "AWS::Batch::ComputeEnvironment": (
        Conditional(("Eks:AssociateAccessPolicy", "Eks:CreateAccessEntry", "Eks:DeleteAccessEntry", "Eks:DescribeAccessEntry",
                     "Eks:DescribeCluster", "Eks:ListAssociatedAccessPolicies"),
                    ("EksConfiguration",), "a compute environment on an Amazon EKS cluster"),
    ),
    "AWS::ECR::Repository": (
        Conditional(("kms:DescribeKey", "kms:CreateGrant", "kms:RetireGrant"), ("EncryptionConfiguration.KmsKey",),
                    "encryption with a KMS key rather than ECR's own AES-256"),
    ),
    "AWS::DynamoDB::Table": (
        Conditional(("kinesis:*", "dynamodb:EnableKinesisStreamingDestination", "dynamodb:DisableKinesisStreamingDestination",
                     "dynamodb:UpdateKinesisStreamingDestination"),
                    ("KinesisStreamSpecification",), "streaming to Kinesis Data Streams"),
        Conditional(("kms:*",), ("SSESpecification.KMSMasterKeyId", "SSESpecification.SSEType"),
                    "encryption with a KMS key other than DynamoDB's own"),
        Conditional(("dynamodb:ImportTable", "dynamodb:DescribeImport", "s3:GetObject", "s3:GetObjectMetadata", "s3:ListBucket",
                     "logs:*"),
                    ("ImportSourceSpecification",), "creating the table from an S3 import (with its CloudWatch log)"),
        Conditional(("dynamodb:UpdateContinuousBackups",), ("PointInTimeRecoverySpecification",), "point-in-time recovery"),
        Conditional(("dynamodb:UpdateTimeToLive",), ("TimeToLiveSpecification",), "time to live"),
        Conditional(("dynamodb:UpdateContributorInsights",),
                    ("ContributorInsightsSpecification", "GlobalSecondaryIndexes.*.ContributorInsightsSpecification"),
                    "CloudWatch Contributor Insights"),
        Conditional(("dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy"), ("ResourcePolicy",),
                    "a resource policy on the table"),
    ),
    "AWS::Lambda::Function": (
        Conditional(("kms:*",), ("KmsKeyArn",), "environment variables encrypted with a customer key"),
        Conditional(("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeNetworkInterfaces"),
                    ("VpcConfig",), "a function attached to a VPC"),
        Conditional(("elasticfilesystem:DescribeMountTargets", "s3files:ListMountTargets"), ("FileSystemConfigs",),
                    "file systems mounted by the function"),
        Conditional(("lambda:GetLayerVersion",), ("Layers",), "layers"),
        Conditional(("lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency"), ("ReservedConcurrentExecutions",),
                    "reserved concurrency"),
        Conditional(("lambda:GetCodeSigningConfig", "lambda:PutFunctionCodeSigningConfig", "lambda:DeleteFunctionCodeSigningConfig"),
                    ("CodeSigningConfigArn",), "code signing"),
        Conditional(("lambda:PutRuntimeManagementConfig",), ("RuntimeManagementConfig",), "runtime management settings"),
        Conditional(("lambda:PutFunctionRecursionConfig",), ("RecursiveLoop",), "recursive loop detection settings"),
        Conditional(("lambda:PutFunctionScalingConfig",), ("FunctionScalingConfig",), "scaling settings"),
        Conditional(("lambda:PassCapacityProvider",), ("CapacityProviderConfig",), "a capacity provider"),
        Conditional(("s3:GetObject", "s3:GetObjectVersion"), ("Code.S3Bucket",), "code in an S3 bucket"),
    ),
    "AWS::Logs::LogGroup": (
        Conditional(("logs:PutDataProtectionPolicy", "logs:DeleteDataProtectionPolicy", "logs:CreateLogDelivery",
                     "s3:REST.PUT.OBJECT", "firehose:TagDeliveryStream"),
                    ("DataProtectionPolicy",), "a data protection policy and the delivery of its audit findings"),
        Conditional(("logs:PutResourcePolicy", "logs:DeleteResourcePolicy"), ("ResourcePolicyDocument",), "a resource policy"),
        Conditional(("logs:PutIndexPolicy", "logs:DeleteIndexPolicy"), ("FieldIndexPolicies",), "field index policies"),
        Conditional(("logs:PutBearerTokenAuthentication",), ("BearerTokenAuthenticationEnabled",), "bearer token authentication"),
        Conditional(("logs:AssociateKmsKey", "logs:DisassociateKmsKey"), ("KmsKeyId",), "a KMS key on the log group"),
        Conditional(("logs:PutLogGroupDeletionProtection",), ("DeletionProtectionEnabled",), "deletion protection"),
    ),
    "AWS::EC2::Instance": (
        Conditional(("ssm:CreateAssociation", "ssm:DeleteAssociation", "ssm:DescribeAssociation", "ssm:ListAssociations"),
                    ("SsmAssociations",), "Systems Manager associations"),
        Conditional(("ec2:ModifyPrivateDnsNameOptions",), ("PrivateDnsNameOptions",), "private DNS name options"),
        Conditional(("ec2:AssociateIamInstanceProfile", "ec2:ReplaceIamInstanceProfileAssociation",
                     "ec2:DisassociateIamInstanceProfile", "ec2:DescribeIamInstanceProfileAssociations"),
                    ("IamInstanceProfile",), "an instance profile given as a property (a launch template's goes through RunInstances)"),
        Conditional(("ec2:ModifyInstanceCreditSpecification",), ("CreditSpecification",), "burstable credit settings"),
        Conditional(("ec2:MonitorInstances", "ec2:UnmonitorInstances"), ("Monitoring",), "detailed monitoring"),
        Conditional(("ec2:ModifyInstancePlacement",), ("Affinity", "HostId", "HostResourceGroupArn", "Tenancy"),
                    "dedicated host placement"),
        Conditional(("ec2:AttachVolume", "ec2:DetachVolume"), ("Volumes",), "volumes attached as a property"),
        Conditional(("ec2:ModifyInstanceMetadataOptions",), ("MetadataOptions",), "metadata options set as a property"),
    ),
    "AWS::EC2::Volume": (
        Conditional(("kms:*",), ("KmsKeyId",), "encryption with a customer key (the default key needs no caller permission)"),
        Conditional(("ec2:CopyVolumes",), ("SourceVolumeId",), "a copy of another volume"),
        Conditional(("ec2:CreateSnapshot", "ec2:DescribeSnapshots"), ("DeletionPolicy:Snapshot",),
                    "the snapshot taken when the volume is deleted"),
    ),
    "AWS::EFS::FileSystem": (
        Conditional(("kms:*",), ("KmsKeyId",), "encryption with a customer key (the default key needs no caller permission)"),
        Conditional(("elasticfilesystem:CreateReplicationConfiguration", "elasticfilesystem:DeleteReplicationConfiguration"),
                    ("ReplicationConfiguration",), "replication"),
        Conditional(("elasticfilesystem:PutBackupPolicy",), ("BackupPolicy",), "automatic backups"),
        Conditional(("elasticfilesystem:PutFileSystemPolicy", "elasticfilesystem:DeleteFileSystemPolicy"), ("FileSystemPolicy",),
                    "a file system policy"),
        Conditional(("elasticfilesystem:PutLifecycleConfiguration",), ("LifecyclePolicies",), "lifecycle management"),
        Conditional(("elasticfilesystem:UpdateFileSystemProtection",), ("FileSystemProtection",), "replication overwrite protection"),
    ),
    "AWS::Route53::HostedZone": (
        Conditional(("route53:CreateQueryLoggingConfig", "route53:DeleteQueryLoggingConfig"), ("QueryLoggingConfig",),
                    "DNS query logging"),
        Conditional(("route53:UpdateHostedZoneFeatures",), ("HostedZoneFeatures",), "hosted zone features"),
        Conditional(("route53:UpdateHostedZoneComment",), ("HostedZoneConfig",), "the zone's comment"),
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (
        Conditional(("elasticloadbalancing:ModifyCapacityReservation",), ("MinimumLoadBalancerCapacity",), "reserved capacity"),
        Conditional(("ec2:DescribeIpamPools", "elasticloadbalancing:ModifyIpPools"), ("Ipv4IpamPoolId",), "IPAM pools"),
    ),
    "AWS::ElasticLoadBalancingV2::Listener": (
        Conditional(("cognito-idp:DescribeUserPoolClient",), ("DefaultActions.*.AuthenticateCognitoConfig",),
                    "Cognito authentication actions"),
        Conditional(("elasticloadbalancing:ModifyListenerAttributes",), ("ListenerAttributes",), "listener attributes"),
    ),
    "AWS::IAM::Role": (
        Conditional(("iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"), ("PermissionsBoundary",),
                    "a permissions boundary"),
        Conditional(("iam:PutRolePolicy", "iam:GetRolePolicy"), ("Policies",), "inline policies"),
        Conditional(("iam:AttachRolePolicy",), ("ManagedPolicyArns",), "managed policies"),
    ),
    "AWS::IAM::Policy": (
        Conditional(("iam:GetUserPolicy", "iam:PutUserPolicy", "iam:DeleteUserPolicy"), ("Users",), "a policy of users"),
        Conditional(("iam:GetGroupPolicy", "iam:PutGroupPolicy", "iam:DeleteGroupPolicy"), ("Groups",), "a policy of groups"),
        Conditional(("iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"), ("Roles",), "a policy of roles"),
    ),
    "AWS::ImageBuilder::Component": (
        Conditional(("kms:*",), ("KmsKeyId",), "a component encrypted with a customer key"),
        Conditional(("s3:GetObject", "s3:HeadBucket", "s3:GetBucketLocation"), ("Uri",), "a component document read from S3"),
    ),
    "AWS::ImageBuilder::Image": (
        Conditional(("ecr:BatchGetRepositoryScanningConfiguration", "inspector2:BatchGetAccountStatus"),
                    ("ImageScanningConfiguration",), "image scanning"),
        Conditional(("imagebuilder:GetContainerRecipe",), ("ContainerRecipeArn",), "a container image"),
        Conditional(("imagebuilder:GetWorkflow",), ("Workflows",), "build workflows"),
        Conditional(("iam:PassRole",), ("ExecutionRole",), "an execution role for workflows"),
        Conditional(("imagebuilder:StartImagePipelineExecution",), ("ImagePipelineExecutionSettings",),
                    "an image built by a pipeline execution"),
    ),
    "AWS::ImageBuilder::DistributionConfiguration": (
        Conditional(("ec2:DescribeLaunchTemplates", "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"),
                    ("Distributions.*.LaunchTemplateConfigurations",), "launch templates updated with the new AMI"),
        Conditional(("ssm:GetParameter",), ("Distributions.*.SsmParameterConfigurations",), "SSM parameters set to the new AMI"),
    ),
    "AWS::SNS::Topic": (
        Conditional(("sns:PutDataProtectionPolicy",), ("DataProtectionPolicy",), "a data protection policy"),
        Conditional(("iam:GetRole", "iam:PassRole"), ("DeliveryStatusLogging",), "the role that logs delivery status"),
    ),
    "AWS::SNS::Subscription": (
        Conditional(("iam:GetRole", "iam:PassRole"), ("SubscriptionRoleArn",), "the role of a Firehose subscription"),
    ),
    # CloudFormation passes a nested stack the service role of its parent stack, if it has one.
    "AWS::CloudFormation::Stack": (
        Conditional(("iam:PassRole",), (STACK_ROLE,), "the parent stack's service role"),
    ),
}

# Types without registry handlers: their actions, reviewed from each service's documentation.
LEGACY: dict[str, dict[str, tuple[Conditional, ...]]] = {
    # CloudFormation invokes the function named by ServiceToken on create, update and delete
    # (AWS Lambda developer guide, "Using AWS Lambda with CloudFormation").
    "AWS::CloudFormation::CustomResource": {
        handler: (Conditional(("lambda:InvokeFunction",), (), "CloudFormation invokes the ServiceToken function"),)
        for handler in HANDLERS
    },
    "AWS::CloudFormation::WaitCondition": {},
    "AWS::CloudFormation::WaitConditionHandle": {},
    # Amazon FSx API (CreateFileSystem, UpdateFileSystem, DeleteFileSystem). Tags given on creation are
    # authorized as fsx:TagResource too ("Using tags with Amazon FSx"); FSx creates its service-linked
    # role the first time; with a customer key FSx creates a grant on it for the caller.
    "AWS::FSx::FileSystem": {
        "create": (
            Conditional(("fsx:CreateFileSystem", "fsx:DescribeFileSystems", "fsx:TagResource", "iam:CreateServiceLinkedRole"), (),
                        "creating the file system"),
            Conditional(("kms:CreateGrant", "kms:DescribeKey"), ("KmsKeyId",), "encryption with a customer key"),
            Conditional(("s3:Get*", "s3:List*"), ("LustreConfiguration.ImportPath", "LustreConfiguration.ExportPath"),
                        "a data repository in S3"),
        ),
        "update": (Conditional(("fsx:UpdateFileSystem", "fsx:DescribeFileSystems", "fsx:TagResource", "fsx:UntagResource"), (),
                               "updating the file system"),),
        "delete": (Conditional(("fsx:DeleteFileSystem", "fsx:DescribeFileSystems"), (), "deleting the file system"),),
    },
    # AWS CodeBuild API (CreateProject, UpdateProject, DeleteProject) and its permissions reference:
    # CloudFormation reads the project back with BatchGetProjects, and passes it its service role.
    # Tags given on creation are part of CreateProject (CodeBuild has no TagResource action).
    "AWS::CodeBuild::Project": {
        "create": (Conditional(("codebuild:CreateProject", "codebuild:BatchGetProjects", "iam:PassRole"), (),
                               "creating the project, with its service role"),),
        "update": (Conditional(("codebuild:UpdateProject", "codebuild:BatchGetProjects", "iam:PassRole"), (),
                               "updating the project"),),
        "delete": (Conditional(("codebuild:DeleteProject", "codebuild:BatchGetProjects"), (), "deleting the project"),),
    },
}
# Resource types that take tags without a registry schema (FSx file systems have a Tags property).
LEGACY_TAGGABLE = {"AWS::FSx::FileSystem"}


@functools.cache
def resource_schema(resource_type: str, region: str = "us-east-1") -> dict[str, Any] | None:
    """The type's registry schema as cfn-lint bundles it for the Region, or None for an unknown type."""
    providers = json.loads((SCHEMAS / "providers" / f"{region}.json").read_text())
    digest = providers.get(resource_type)
    return json.loads((SCHEMAS / "resources" / f"{digest}.json").read_text()) if digest else None


def _is_set(resource: dict[str, Any], path: str, context: Context) -> bool:
    """Whether a property path (or DeletionPolicy:<value>, or STACK_ROLE) has a value for the resource."""
    if path == STACK_ROLE:
        return context.service_role
    if path.startswith("DeletionPolicy"):
        attribute, _, value = path.partition(":")
        return resource.get(attribute) == value if value else attribute in resource
    values: list[Any] = [resource.get("Properties", {})]
    for part in path.split("."):
        step: list[Any] = []
        for value in values:
            if part == "*" and isinstance(value, list):
                step.extend(value)
            elif isinstance(value, dict) and part in value:
                step.append(value[part])
        values = step
    return any(value not in (None, "", [], {}, False) for value in values)


def _matches(pattern: str, action: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), action, re.IGNORECASE) is not None


# ------------------------------------------------------------------------------------------- ARNs


# Types whose ARN follows from a name property: (name property, ARN after "arn:<partition>:").
NAMED_ARNS = {
    "AWS::CloudWatch::Alarm": ("AlarmName", "cloudwatch:{region}:{account}:alarm:{name}"),
    "AWS::CloudWatch::CompositeAlarm": ("AlarmName", "cloudwatch:{region}:{account}:alarm:{name}"),
    "AWS::CloudWatch::Dashboard": ("DashboardName", "cloudwatch::{account}:dashboard/{name}"),
    "AWS::Logs::LogGroup": ("LogGroupName", "logs:{region}:{account}:log-group:{name}"),
    "AWS::DynamoDB::Table": ("TableName", "dynamodb:{region}:{account}:table/{name}"),
    "AWS::Lambda::Function": ("FunctionName", "lambda:{region}:{account}:function:{name}"),
    "AWS::SNS::Topic": ("TopicName", "sns:{region}:{account}:{name}"),
    "AWS::AutoScaling::AutoScalingGroup": ("AutoScalingGroupName",
                                           "autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{name}"),
    "AWS::ElasticLoadBalancingV2::TargetGroup": ("Name", "elasticloadbalancing:{region}:{account}:targetgroup/{name}/*"),
    # Image Builder ARNs carry the name in lower case, then the version and build version.
    "AWS::ImageBuilder::Component": ("Name", "imagebuilder:{region}:{account}:component/{lower}/*"),
    "AWS::ImageBuilder::ImageRecipe": ("Name", "imagebuilder:{region}:{account}:image-recipe/{lower}/*"),
    "AWS::ImageBuilder::InfrastructureConfiguration": ("Name", "imagebuilder:{region}:{account}:infrastructure-configuration/{lower}"),
    "AWS::ImageBuilder::DistributionConfiguration": ("Name", "imagebuilder:{region}:{account}:distribution-configuration/{lower}"),
}
# IAM names are global; without a name property CloudFormation generates one under the Path.
IAM_ARNS = {"AWS::IAM::Role": ("RoleName", "role"), "AWS::IAM::InstanceProfile": ("InstanceProfileName", "instance-profile")}
# Types whose actions act on the resource a property names (a function, for these).
TARGET_ARNS = {"AWS::CloudFormation::CustomResource": "ServiceToken", "AWS::Lambda::Permission": "FunctionName"}


@dataclass(frozen=True)
class Context:
    """Where a template is deployed: what its pseudo parameters become."""

    partition: str
    region: str
    account: str
    stack_name: str  # "*" for a nested stack, whose name CloudFormation generates
    service_role: bool = False  # whether the stack was created with a service role (RoleARN)

    @property
    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::Partition": self.partition, "AWS::Region": self.region, "AWS::AccountId": self.account,
            "AWS::StackName": self.stack_name, "AWS::URLSuffix": "amazonaws.com",
            # The stack id ends in a UUID CloudFormation assigns: names built from it are patterns.
            "AWS::StackId": f"arn:{self.partition}:cloudformation:{self.region}:{self.account}:stack/{self.stack_name}/*",
        }


def _resolve(value: Any, template: dict[str, Any], context: Context) -> Any:
    """The value with parameters at their defaults, resources' Arn attributes and pseudo parameters resolved."""
    def substitute(item: Any) -> Any:
        if isinstance(item, list):
            return [substitute(i) for i in item]
        if not isinstance(item, dict):
            return item
        if set(item) == {"Ref"} and item["Ref"] in template.get("Parameters", {}):
            return template["Parameters"][item["Ref"]].get("Default", item)
        if set(item) == {"Fn::GetAtt"} and list(item["Fn::GetAtt"])[1:] == ["Arn"]:
            target = item["Fn::GetAtt"][0]
            return resource_arn(template, target, context) or item
        return {key: substitute(i) for key, i in item.items()}

    return render(substitute(value), context.pseudo)


def resource_arn(template: dict[str, Any], logical_id: str, context: Context) -> str | None:
    """The resource's ARN when the template determines it (``*`` where CloudFormation generates a part)."""
    resource = template["Resources"][logical_id]
    resource_type, properties = resource["Type"], resource.get("Properties", {})
    if resource_type in IAM_ARNS:
        name_property, kind = IAM_ARNS[resource_type]
        path = _resolve(properties.get("Path", "/"), template, context)
        name = _resolve(properties[name_property], template, context) if name_property in properties else "*"
        arn = f"arn:{context.partition}:iam::{context.account}:{kind}{path}{name}"
    elif resource_type in TARGET_ARNS:
        arn = str(_resolve(properties[TARGET_ARNS[resource_type]], template, context))
    elif resource_type in NAMED_ARNS and NAMED_ARNS[resource_type][0] in properties:
        name_property, shape = NAMED_ARNS[resource_type]
        name = str(_resolve(properties[name_property], template, context))
        arn = f"arn:{context.partition}:" + shape.format(
            region=context.region, account=context.account, name=name, lower=name.lower())
    else:
        return None
    return _determined(arn)


def _determined(arn: Any) -> str | None:
    """The ARN, unless it is not one or holds an unresolved reference: then the template does not determine it."""
    return arn if isinstance(arn, str) and arn.startswith("arn:") and "<" not in arn else None


# Actions that act on another resource than the one being created: where the template names it.
KEY_PROPERTIES = ("KmsKeyId", "KmsKeyArn", "SSESpecification.KMSMasterKeyId")


def action_arn(action: str, resource: dict[str, Any], own_arn: str | None, template: dict[str, Any],
               context: Context) -> str | None:
    """The ARN of what the action acts on, when the template determines it."""
    properties = resource.get("Properties", {})
    if action.lower().startswith("kms:"):
        keys = [_resolve(_get(properties, path), template, context) for path in KEY_PROPERTIES if _get(properties, path)]
        key = str(keys[0]) if keys else ""
        if re.fullmatch(r"[0-9a-f-]{36}", key):  # a key id: the key of this account and Region
            key = f"arn:{context.partition}:kms:{context.region}:{context.account}:key/{key}"
        return _determined(key)
    if action == "iam:PassRole":
        roles = [role for name in ROLE_PROPERTIES for role in _as_list(properties.get(name))]
        if roles and isinstance(roles[0], dict) and set(roles[0]) == {"Ref"} and roles[0]["Ref"] in template["Resources"]:
            return resource_arn(template, roles[0]["Ref"], context)  # Ref to a role is its name: its ARN instead
        return _determined(_resolve(roles[0], template, context)) if roles else None
    if action in ("s3:GetObject", "s3:GetObjectVersion") and isinstance(properties.get("Code"), dict):
        code = _resolve(properties["Code"], template, context)
        return _determined(f"arn:{context.partition}:s3:::{code.get('S3Bucket')}/{code.get('S3Key')}")
    # An action of another service (ec2:RunInstances for an Auto Scaling group) acts on something else.
    return own_arn if own_arn and action.split(":")[0] == own_arn.split(":")[2] else None


ROLE_PROPERTIES = ("Role", "Roles", "ExecutionRole", "ServiceLinkedRoleARN", "ServiceRole")


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def _get(properties: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        properties = properties.get(part, {}) if isinstance(properties, dict) else {}
    return properties or None


# ---------------------------------------------------------------------------------- requirements


def _handler_actions(resource_type: str) -> Iterator[tuple[str, str, Conditional | None]]:
    """(handler, action, the Conditional entry that covers it or None) for the type's handlers."""
    schema = resource_schema(resource_type)
    if resource_type in LEGACY:
        for handler, entries in LEGACY[resource_type].items():
            for entry in entries:
                for action in entry.actions:
                    yield handler, action, entry if entry.when else None
        return
    if schema is None or "handlers" not in schema:
        raise LookupError(f"{resource_type}: no resource handlers in cfn-lint's schemas and no LEGACY entry")
    for handler in HANDLERS:
        for action in dict.fromkeys(schema["handlers"].get(handler, {}).get("permissions", [])):
            entry = next((c for c in CONDITIONAL.get(resource_type, ())
                          if any(_matches(pattern, action) for pattern in c.actions)), None)
            yield handler, action, entry


REMOVES_TAGS = re.compile(r":(Untag|DeleteTags|RemoveTags)")


def tagging_permissions(resource_type: str) -> tuple[str, ...]:
    schema = resource_schema(resource_type) or {}
    tagging = schema.get("tagging") or {}
    return tuple(tagging.get("permissions", ())) if tagging.get("taggable") else ()


def requirements(
    template: dict[str, Any], *, template_name: str, stack: str = "stack", context: Context,
) -> list[tuple[Requirement, bool]]:
    """Every action of every handler of every resource, with whether the template requires it."""
    found: list[tuple[Requirement, bool]] = []
    for logical_id, resource in template["Resources"].items():
        resource_type = resource["Type"]
        arn = resource_arn(template, logical_id, context)

        def add(
            handler: str, action: str, why: str, required: bool,
            resource: dict[str, Any] = resource, arn: str | None = arn,
            resource_type: str = resource_type, logical_id: str = logical_id,
        ) -> None:
            target = action_arn(action, resource, arn, template, context)
            found.append((Requirement(template_name, stack, resource_type, logical_id, handler, action, why, target), required))

        source = "LEGACY table (no registry handlers)" if resource_type in LEGACY else "its registry schema"
        for handler, action, entry in _handler_actions(resource_type):
            if entry is None:
                add(handler, action, f"the {handler} handler of {resource_type} lists it ({source})", True)
                continue
            set_paths = [path for path in entry.when if _is_set(resource, path, context)]
            if set_paths:
                add(handler, action, f"for {entry.why}: the template sets {', '.join(set_paths)}", True)
            else:
                add(handler, action, f"only for {entry.why} ({' or '.join(entry.when)}), which the template does not set", False)
        # Stack tags (ParallelCluster always tags its stacks) and CloudFormation's own tags: applied on
        # create; changed (added and removed) on update.
        tag_actions = tagging_permissions(resource_type) or (("fsx:TagResource",) if resource_type in LEGACY_TAGGABLE else ())
        for action in tag_actions:
            for handler in ("create", "update") if not REMOVES_TAGS.search(action) else ("update",):
                add(handler, action, "tagging: CloudFormation propagates the stack's tags to every taggable resource", True)
    return found


def required(
    template: dict[str, Any], *, template_name: str, stack: str = "stack", context: Context,
) -> list[Requirement]:
    return [r for r, needed in requirements(template, template_name=template_name, stack=stack, context=context) if needed]


def stack_requirements(created: dict[str, Any], *, template_name: str, partition: str, region: str, account: str) -> list[Requirement]:
    """Required actions for a created stack and its nested stacks (an item of the pcluster_templates fixture)."""
    role = created["service_role"]
    top = Context(partition, region, account, created["stack_name"], role)
    nested = Context(partition, region, account, "*", role)
    found = required(created["stack"], template_name=template_name, context=top)
    for logical_id, template in created["nested"].items():
        found += required(template, template_name=template_name, stack=logical_id, context=nested)
    return found


if __name__ == "__main__":
    # python -m tests.constructs_lib.parallelcluster_api.coverage.cfn_permissions OUT.json [VERSION]:
    # the required actions of the templates of tests/lambda_image/pcluster_configs/, as JSON records.
    import dataclasses
    import sys

    from tests.lambda_image import batches, venv
    from tests.lambda_image.events import ACCOUNT, REGION

    version = sys.argv[2] if len(sys.argv) > 2 else venv.DEFAULT_PARALLELCLUSTER_VERSION
    results, _ = batches.moto_batch(venv.ensure_venvs(version))
    records = [
        dataclasses.asdict(requirement)
        for name, created in batches.templates(results, version).items()
        for requirement in stack_requirements(created, template_name=name, partition="aws", region=REGION, account=ACCOUNT)
    ]
    Path(sys.argv[1]).write_text(json.dumps(records, indent=1))
    print(f"{len(records)} required actions written to {sys.argv[1]}")
