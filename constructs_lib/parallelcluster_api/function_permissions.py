"""What the API function may do in the account: the ParallelCluster permissions.

The starting point is the official ParallelCluster policies (repository aws/aws-parallelcluster,
``cloudformation/policies/parallelcluster-policies.yaml``), grouped the same way so that each
managed policy stays under IAM's 6,144-character limit. The statements are then checked against
the release the API serves (:data:`constructs_lib.versions.SUPPORTED_PARALLELCLUSTER_VERSIONS`):
the AWS calls of its code and the resources its cluster and image templates make CloudFormation
create with the function's credentials (``tests/constructs_lib/parallelcluster_api/coverage``).
Every ARN is built from ``${AWS::Partition}`` and ``${AWS::AccountId}``, and when ``Region`` is one
Region, regional ARNs name it and unscoped actions carry an ``aws:RequestedRegion`` condition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Fn, Token

from constructs_lib.flags import Flag
from constructs_lib.validation import ALL_BUCKETS, ALL_REGIONS
from constructs_lib.versions import Release

# AWS managed policies that every served release attaches to the roles it creates; with IAM admin
# access the function may attach these (and the Batch ones below, for releases with Batch) and no
# other AWS managed policy. Cluster node roles get CloudWatchAgentServerPolicy; image build roles
# AmazonSSMManagedInstanceCore and EC2InstanceProfileForImageBuilder; the build-image cleanup role
# AWSLambdaBasicExecutionRole; cluster and cleanup functions in a VPC
# (DeploymentSettings/LambdaFunctionsVpcConfig) AWSLambdaVPCAccessExecutionRole.
ATTACHABLE_AWS_MANAGED_POLICIES = (
    "CloudWatchAgentServerPolicy",
    "AmazonSSMManagedInstanceCore",
    "EC2InstanceProfileForImageBuilder",
    "service-role/AWSLambdaBasicExecutionRole",
    "service-role/AWSLambdaVPCAccessExecutionRole",
)
# What an AWS Batch cluster's template attaches (pcluster/templates/awsbatch_builder.py, 3.15 and
# older): the ECS instance role, the job role and the Spot Fleet role.
AWSBATCH_ATTACHABLE_AWS_MANAGED_POLICIES = (
    "service-role/AmazonEC2ContainerServiceforEC2Role",
    "service-role/AmazonECSTaskExecutionRolePolicy",
    "service-role/AmazonEC2SpotFleetTaggingRole",
)


# An IAM policy statement as JSON (``iam.PolicyDocument.from_json`` reads it in one call).
Statement = dict[str, Any]
# Appended to the reason of every statement that ``region_limited`` scopes.
REGION_LIMIT = "When Region is set, an aws:RequestedRegion condition keeps it to that Region."


@dataclass(frozen=True)
class Permission:
    """One statement of the function's policies and why ParallelCluster needs it.

    The reason also acknowledges the statement's wildcards for cdk-nag (AwsSolutions-IAM5), so
    every wildcard is explained where it is granted.
    """

    statement: Statement
    why: str
    #: Where a deploy-time choice adds the statement's only condition: the choice, and the
    #: statement without it (``statement`` is the one with it). The policy holds ``Fn::If``.
    choice: tuple[Flag, Statement] | None = None

    @property
    def sid(self) -> str:
        return str(self.statement["Sid"])


@dataclass(frozen=True)
class When:
    """Condition keys that apply only when ``flag`` is yes (decided at deploy time in the template)."""

    flag: Flag
    operator: str
    keys: dict[str, Any]


@dataclass(frozen=True)
class PermissionScope:
    """Where the function's permissions apply: one Region or all (``*``).

    ``all_regions`` says whether ``region`` is ``*``; in the portable template ``region`` is the
    ``Region`` parameter and ``all_regions`` a condition on it.
    """

    region: str = ALL_REGIONS
    all_regions: Flag | None = None

    @property
    def every_region(self) -> Flag:
        return self.all_regions if self.all_regions is not None else Flag(self.region == ALL_REGIONS)

    def arn(self, service: str, resource: str, *, regional: bool = True, account: str = Aws.ACCOUNT_ID) -> str:
        """A partition-aware ARN, by default in this account; regional ARNs name the scope's Region."""
        region = self.region if regional else ""
        return f"arn:{Aws.PARTITION}:{service}:{region}:{account}:{resource}"

    def iam_arn(self, resource: str) -> str:
        return self.arn("iam", resource, regional=False)

    def statement(
        self,
        sid: str,
        actions: Sequence[str],
        resources: Sequence[str] = ("*",),
        conditions: dict[str, dict[str, Any]] | None = None,
        *,
        why: str,
        region_limited: bool = False,
        when: Sequence[When] = (),
    ) -> Permission:
        """An Allow statement; ``region_limited`` keeps region-less resources to the scope's Region.

        ``when``: condition keys that apply only when their flag is yes.
        """
        optional = list(when)
        if region_limited:
            optional.append(When(~self.every_region, "StringEquals", {"aws:RequestedRegion": [self.region]}))
        statement: Statement = {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": list(resources)}
        fixed = {operator: dict(keys) for operator, keys in (conditions or {}).items()}
        reason = f"{why} {REGION_LIMIT}" if region_limited else why
        deferred = []
        for part in optional:
            if part.flag.known:
                if part.flag.certain:
                    fixed.setdefault(part.operator, {}).update(part.keys)
            else:
                deferred.append(part)
        if fixed or deferred:
            statement["Condition"] = fixed
        if not deferred:
            return Permission(statement, reason)
        if fixed:
            # Each deploy-time part becomes keys that are there only when its choice says so.
            for part in deferred:
                if part.operator in fixed:
                    fixed[part.operator].update({key: part.flag.pick(value) for key, value in part.keys.items()})
                else:
                    fixed[part.operator] = part.flag.pick(part.keys)
            return Permission(statement, reason)
        # Without the part the statement has no Condition at all (IAM wants none rather than an
        # empty one): the whole statement is chosen.
        if len(deferred) > 1:
            raise NotImplementedError("several deploy-time condition parts in a statement without other conditions")
        (part,) = deferred
        statement["Condition"] = {part.operator: dict(part.keys)}
        without = {key: value for key, value in statement.items() if key != "Condition"}
        return Permission(statement, reason, choice=(part.flag, without))


def cluster_statements_ec2_and_stacks(where: PermissionScope) -> list[Permission]:
    """Cluster operations, first half: EC2, DynamoDB, Route 53, CloudFormation, CloudWatch."""
    stacks = where.arn("cloudformation", "stack/*")
    return [
        where.statement(
            "EC2ReadAndWrite",
            [
                "ec2:Describe*",
                "ec2:AllocateAddress",
                "ec2:AssociateAddress",
                "ec2:AttachNetworkInterface",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateFleet",
                "ec2:CreateLaunchTemplate",
                "ec2:CreateLaunchTemplateVersion",
                "ec2:CreateNetworkInterface",
                "ec2:CreatePlacementGroup",
                "ec2:CreateSecurityGroup",
                "ec2:CreateSnapshot",
                "ec2:CreateTags",
                "ec2:DeleteTags",
                "ec2:CreateVolume",
                "ec2:DeleteLaunchTemplate",
                "ec2:DeleteNetworkInterface",
                "ec2:DeletePlacementGroup",
                "ec2:DeleteSecurityGroup",
                "ec2:DeleteVolume",
                "ec2:DisassociateAddress",
                "ec2:ModifyLaunchTemplate",
                "ec2:ModifyNetworkInterfaceAttribute",
                "ec2:ModifyVolume",
                "ec2:ModifyVolumeAttribute",
                "ec2:ReleaseAddress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RunInstances",
                "ec2:TerminateInstances",
                # CloudFormation's AWS::EC2::Instance, NetworkInterface and SecurityGroup handlers
                # (head node, its network interface, security groups) on create and update.
                "ec2:ModifyInstanceAttribute",
                "ec2:ModifyInstanceMaintenanceOptions",
                "ec2:StartInstances",
                "ec2:StopInstances",
                "ec2:ModifyPublicIpDnsNameOptions",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
                "ec2:AssignIpv6Addresses",
                "ec2:UnassignIpv6Addresses",
                "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
                "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
            ],
            region_limited=True,
            why="ParallelCluster launches, describes and tears down the EC2 instances, network interfaces, volumes, security groups and launch templates of clusters whose ids are only known at run time; EC2 has no resource-level permissions for Describe* and RunInstances spans many resource types.",
        ),
        where.statement(
            "DynamoDB",
            [
                "dynamodb:DescribeTable",
                "dynamodb:ListTagsOfResource",
                "dynamodb:CreateTable",
                "dynamodb:DeleteTable",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:Query",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
                # CloudFormation's AWS::DynamoDB::Table handler reads and updates the table's settings.
                "dynamodb:UpdateTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeContributorInsights",
                "dynamodb:DescribeKinesisStreamingDestination",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:GetResourcePolicy",
                "dynamodb:Scan",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
            ],
            [where.arn("dynamodb", "table/parallelcluster-*")],
            why="Each cluster gets its own DynamoDB table; the wildcard only covers tables named parallelcluster-*.",
        ),
        # Route 53 is global: neither a Region in its ARNs nor a requested Region applies.
        where.statement(
            "Route53HostedZones",
            [
                "route53:ChangeResourceRecordSets",
                "route53:ChangeTagsForResource",
                "route53:CreateHostedZone",
                "route53:DeleteHostedZone",
                "route53:GetChange",
                "route53:GetHostedZone",
                "route53:ListResourceRecordSets",
                "route53:ListQueryLoggingConfigs",
                # The cluster's private hosted zone is tied to its VPC (AWS::Route53::HostedZone handler).
                "route53:AssociateVPCWithHostedZone",
                "route53:DisassociateVPCFromHostedZone",
                "route53:ListTagsForResource",
            ],
            why="Each cluster may get a private hosted zone whose id Route 53 assigns at creation; CreateHostedZone and GetChange have no resource-level permissions.",
        ),
        where.statement(
            "CloudFormationCreate",
            ["cloudformation:CreateStack"],
            [stacks],
            {"ForAnyValue:StringEquals": {"aws:TagKeys": ["parallelcluster:cluster-name"]}},
            why="Clusters are CloudFormation stacks named by the user; creation is limited to stacks tagged parallelcluster:cluster-name.",
        ),
        # Updates are limited by the stack's own tag: deleting a cluster but keeping its logs
        # updates its stack without Tags, where a condition on the request's tag keys is false.
        where.statement(
            "CloudFormationUpdate",
            # The nested stacks of a cluster (its queues, its login nodes) carry its tags too.
            ["cloudformation:UpdateStack", "cloudformation:SetStackPolicy", "cloudformation:UpdateTerminationProtection"],
            [stacks],
            {"Null": {"aws:ResourceTag/parallelcluster:cluster-name": "false"}},
            why="Cluster stacks are named by the user; updates are limited to stacks tagged parallelcluster:cluster-name.",
        ),
        # ParallelCluster tags every cluster stack (models/cluster.py, _get_cfn_tags), and CloudFormation
        # its nested stacks with the same tags: the function deletes no other stack of the account.
        where.statement(
            "CloudFormationDelete",
            ["cloudformation:DeleteStack"],
            [stacks],
            {"Null": {"aws:ResourceTag/parallelcluster:cluster-name": "false"}},
            why="Cluster stacks are named by the user; deletion is limited to stacks tagged parallelcluster:cluster-name.",
        ),
        where.statement(
            "CloudFormationReadAndDelete",
            [
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStackResource",
                "cloudformation:DescribeStackResources",
                "cloudformation:GetTemplate",
                # Resource Groups' ListGroupResources reads CloudFormation-based groups with it.
                "cloudformation:ListStackResources",
            ],
            [stacks],
            why="The API lists and describes the cluster and image stacks it created, whose names are chosen by users; these are read-only actions on this account's stacks.",
        ),
        # list-clusters and list-images describe every stack to find ParallelCluster's: DescribeStacks
        # without a stack name also needs ListStacks, which has no resource types.
        where.statement(
            "CloudFormationList",
            ["cloudformation:DescribeStacks", "cloudformation:ListStacks"],
            region_limited=True,
            why="Listing clusters and images describes every stack of the account to find ParallelCluster's, which needs all stacks; these are read-only actions.",
        ),
        where.statement(
            "CloudWatch",
            [
                "cloudwatch:PutDashboard",
                "cloudwatch:ListDashboards",
                "cloudwatch:DeleteDashboards",
                "cloudwatch:GetDashboard",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutCompositeAlarm",
                # CloudFormation copies the cluster stack's tags to its alarms (the
                # AWS::CloudWatch::Alarm and CompositeAlarm handlers tag on create and update).
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
                "cloudwatch:ListTagsForResource",
            ],
            region_limited=True,
            why="Each cluster gets a dashboard and alarms named after it; CloudWatch dashboard and alarm names are chosen at run time.",
        ),
        # EBS volumes, EFS and FSx file systems encrypted with the configuration's KMS key: the
        # service uses the key on the caller's behalf (kms:ViaService), and grants for it.
        where.statement(
            "KmsForEncryptedStorage",
            ["kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:Decrypt"],
            [where.arn("kms", "key/*", account="*")],
            {"StringLike": {"kms:ViaService": storage_services(where)}},
            why="Cluster volumes and file systems are encrypted with keys users name in their configurations; only EC2, EFS and FSx may use them on the function's behalf.",
        ),
        where.statement(
            "KmsGrantsForEncryptedStorage",
            ["kms:CreateGrant"],
            [where.arn("kms", "key/*", account="*")],
            {"StringLike": {"kms:ViaService": storage_services(where)}, "Bool": {"kms:GrantIsForAWSResource": "true"}},
            why="EC2, EFS and FSx create grants on the configuration's key for the resources they encrypt; grants are limited to those services acting for AWS resources.",
        ),
        # Validators read the metadata of the KMS keys a cluster or image configuration names
        # (KmsKeyId), which may belong to a key account of the organization.
        where.statement(
            "KmsDescribeKey",
            ["kms:DescribeKey"],
            [where.arn("kms", "key/*", account="*")],
            why="Cluster and image configurations may name any KMS key, including one of another account of the organization; DescribeKey only reads its metadata.",
        ),
    ]


def cluster_statements_iam_and_storage(where: PermissionScope) -> list[Permission]:
    """Cluster operations, second half: IAM reads, Lambda, S3, FSx, EFS, logs, login nodes."""
    cluster_roles = where.iam_arn("role/parallelcluster/*")
    return [
        where.statement(
            "IamRead",
            [
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:GetPolicy",
                "iam:SimulatePrincipalPolicy",
                "iam:GetInstanceProfile",
            ],
            [
                where.iam_arn("role/*"),
                where.iam_arn("policy/*"),
                f"arn:{Aws.PARTITION}:iam::aws:policy/*",
                where.iam_arn("instance-profile/*"),
            ],
            why="ParallelCluster validates the roles, instance profiles and policies that users name in cluster and image configurations, which can be any in the account; these are read-only actions.",
        ),
        where.statement(
            "IamInstanceProfile",
            [
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
            ],
            [where.iam_arn("instance-profile/parallelcluster/*")],
            why="Cluster instance profiles are created under the parallelcluster/ path only.",
        ),
        where.statement(
            "IamPassRole",
            ["iam:PassRole"],
            [cluster_roles],
            {
                "StringEqualsIfExists": {
                    "iam:PassedToService": [
                        "lambda.amazonaws.com",
                        "ec2.amazonaws.com",
                        "ec2.amazonaws.com.cn",
                        "spotfleet.amazonaws.com",
                    ]
                }
            },
            why="Only roles under the parallelcluster/ path may be passed, and only to Lambda, EC2 and Spot Fleet.",
        ),
        where.statement(
            "ServiceLinkedRoles",
            ["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole"],
            conditions={
                "StringEquals": {
                    "iam:AWSServiceName": [
                        "fsx.amazonaws.com",
                        "s3.data-source.lustre.fsx.amazonaws.com",
                        "elasticloadbalancing.amazonaws.com",
                        "autoscaling.amazonaws.com",
                        # EFS creates its service-linked role with the account's first file system.
                        "elasticfilesystem.amazonaws.com",
                    ]
                }
            },
            why="Service-linked roles have fixed names chosen by AWS; the condition limits them to FSx, FSx for Lustre S3 data repositories, Elastic Load Balancing, Auto Scaling and EFS.",
        ),
        where.statement(
            "Lambda",
            [
                "lambda:CreateFunction",
                "lambda:TagResource",
                "lambda:DeleteFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:GetFunction",
                "lambda:InvokeFunction",
                "lambda:AddPermission",
                "lambda:RemovePermission",
                "lambda:UpdateFunctionConfiguration",
                "lambda:ListTags",
                "lambda:UntagResource",
                # CloudFormation's AWS::Lambda::Function handler, on create and update.
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetFunctionRecursionConfig",
                "lambda:GetRuntimeManagementConfig",
                "lambda:UpdateFunctionCode",
                "lambda:PublishVersion",
            ],
            [
                where.arn("lambda", "function:parallelcluster-*"),
                where.arn("lambda", "function:pcluster-*"),
            ],
            why="Cluster helper functions are created at run time; the wildcard only covers functions named parallelcluster-* and pcluster-*.",
        ),
        where.statement(
            "S3ResourcesBucket",
            ["s3:*"],
            [
                f"arn:{Aws.PARTITION}:s3:::parallelcluster-*",
                f"arn:{Aws.PARTITION}:s3:::aws-parallelcluster-*",
            ],
            region_limited=True,
            why="ParallelCluster keeps cluster artifacts in buckets it creates, named parallelcluster-* or aws-parallelcluster-*; the wildcard covers only those.",
        ),
        where.statement(
            "S3ParallelClusterReadOnly",
            ["s3:Get*", "s3:List*"],
            [f"arn:{Aws.PARTITION}:s3:::{where.region}-aws-parallelcluster*"],
            region_limited=True,
            why="Read-only access to the AWS-owned ParallelCluster buckets of the Region, which hold cookbooks, templates and specs.",
        ),
        # FSx Describe* actions have no resource types: only Resource "*" grants them.
        where.statement(
            "FSxDescribe",
            ["fsx:Describe*"],
            region_limited=True,
            why="FSx Describe actions have no resource-level permissions (Service Authorization Reference); they only read file systems, volumes, backups and caches.",
        ),
        where.statement(
            "FSx",
            ["fsx:*"],
            [where.arn("fsx", "*")],
            why="Clusters create and delete FSx file systems, backups and data repository associations whose ids are assigned at creation; limited to this account (and Region when set).",
        ),
        where.statement(
            "EFS",
            ["elasticfilesystem:*"],
            [where.arn("elasticfilesystem", "*")],
            why="Clusters create and delete EFS file systems, mount targets and access points whose ids are assigned at creation; limited to this account (and Region when set).",
        ),
        where.statement(
            "CloudWatchLogs",
            [
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DescribeLogGroups",
                "logs:CreateLogGroup",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:DescribeMetricFilters",
                "logs:PutMetricFilter",
                "logs:DeleteMetricFilter",
                "logs:ListTagsForResource",
                # CloudFormation's AWS::Logs::LogGroup handler reads the group's policies.
                "logs:DeleteRetentionPolicy",
                "logs:DescribeIndexPolicies",
                "logs:DescribeResourcePolicies",
                "logs:GetDataProtectionPolicy",
            ],
            region_limited=True,
            why="Each cluster gets log groups named after it; the API creates, tags, filters and deletes them.",
        ),
        where.statement(
            "ResourceGroupRead",
            ["resource-groups:ListGroupResources", "resource-groups:GetGroupConfiguration"],
            region_limited=True,
            why="Capacity reservation resource groups are named by users in cluster configurations; these are read-only actions.",
        ),
        # describe-cluster finds the login nodes' load balancers by their cluster tags (3.16; 3.15 and
        # older read them with elasticloadbalancing:DescribeTags), and Resource Groups' ListGroupResources
        # needs it to list a capacity reservation group (every served release).
        where.statement(
            "TaggedResourcesRead",
            ["tag:GetResources"],
            region_limited=True,
            why="The Resource Groups Tagging API's GetResources has no resource-level permissions; it only reads which resources carry a cluster's tags.",
        ),
        # Directory service validation checks that PasswordSecretArn names a secret (metadata only;
        # reading secret values is withheld).
        where.statement(
            "SecretsMetadataRead",
            ["secretsmanager:DescribeSecret"],
            [where.arn("secretsmanager", "secret:*")],
            why="Configurations name secrets of the account chosen by users; DescribeSecret reads their metadata, never their values.",
        ),
        where.statement(
            "LoginNodesRead",
            ["autoscaling:Describe*", "elasticloadbalancing:Describe*"],
            region_limited=True,
            why="Login node Auto Scaling groups and load balancers are read per cluster, and CloudFormation's handlers describe them; Describe actions have no resource-level permissions and only read.",
        ),
        where.statement(
            "LoginNodes",
            [
                "autoscaling:DeleteAutoScalingGroup",
                "autoscaling:DeleteLifecycleHook",
                "autoscaling:PutLifecycleHook",
                "autoscaling:UpdateAutoScalingGroup",
                # CloudFormation's AWS::AutoScaling::AutoScalingGroup handler, on create and update.
                "autoscaling:SuspendProcesses",
                "autoscaling:ResumeProcesses",
                "autoscaling:AttachLoadBalancerTargetGroups",
                "autoscaling:DetachLoadBalancerTargetGroups",
                "autoscaling:StartInstanceRefresh",
                "autoscaling:CancelInstanceRefresh",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                # CloudFormation's ElasticLoadBalancingV2 handlers, on create and update.
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:DeregisterTargets",
            ],
            conditions={"ForAllValues:StringEquals": {"aws:TagKeys": ["parallelcluster:cluster-name"]}},
            region_limited=True,
            why="Login node Auto Scaling groups and load balancers are created per cluster with generated names; the tag-keys condition lets a request set no tag but parallelcluster:cluster-name.",
        ),
        # Creating a group, a load balancer, a target group or a listener carries the stack's tags,
        # which a tag-keys condition would refuse.
        where.statement(
            "LoginNodesCreateAndTag",
            [
                "autoscaling:CreateAutoScalingGroup",
                "autoscaling:DeleteTags",
                "autoscaling:CreateOrUpdateTags",
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:CreateListener",
            ],
            region_limited=True,
            why="Creating and tagging login node Auto Scaling groups and load balancers happens before the resources exist, so no ARN can name them.",
        ),
    ]


def awsbatch_statements(where: PermissionScope) -> list[Permission]:
    """Clusters with the AWS Batch scheduler (releases with Batch: 3.15 and older).

    Their templates (``pcluster/templates/awsbatch_builder.py``) make CloudFormation create, with the
    function's credentials, a Batch compute environment, job queue and job definitions, a CodeBuild
    project that builds the job image into an ECR repository, and an EventBridge rule for the build.
    """
    batch_resources = where.arn("batch", "*")
    return [
        where.statement(
            "BatchPassRole",
            ["iam:PassRole"],
            [where.iam_arn("role/parallelcluster/*")],
            {
                "StringEqualsIfExists": {
                    "iam:PassedToService": ["ecs-tasks.amazonaws.com", "batch.amazonaws.com", "codebuild.amazonaws.com"]
                }
            },
            why="Only roles under the parallelcluster/ path may be passed, and only to ECS tasks, AWS Batch and CodeBuild.",
        ),
        where.statement(
            "BatchServiceLinkedRole",
            ["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole"],
            [where.iam_arn("role/aws-service-role/batch.amazonaws.com/*")],
            {"StringEquals": {"iam:AWSServiceName": ["batch.amazonaws.com"]}},
            why="AWS Batch's service-linked role has a name chosen by AWS; the condition limits this to Batch.",
        ),
        where.statement(
            "Batch",
            ["batch:*"],
            [batch_resources],
            why="AWS Batch compute environments, job queues and job definitions are created per cluster with names CloudFormation generates; limited to this account (and Region when set).",
        ),
        # Batch's Describe* actions have no resource types: only Resource "*" grants them.
        where.statement(
            "BatchDescribe",
            ["batch:Describe*"],
            region_limited=True,
            why="AWS Batch's Describe actions have no resource-level permissions (Service Authorization Reference); they only read compute environments, job queues and job definitions.",
        ),
        where.statement(
            "CodeBuild",
            ["codebuild:*"],
            [where.arn("codebuild", "project/pcluster-*")],
            why="Clusters with the AWS Batch scheduler build their job image with a CodeBuild project named pcluster-<cluster>-*; the wildcard covers only those.",
        ),
        where.statement(
            "ECR",
            ["ecr:*"],
            [where.arn("ecr", "repository/*")],
            why="Clusters with the AWS Batch scheduler keep their job image in a repository whose name CloudFormation generates; limited to this account's repositories (and Region when set).",
        ),
        where.statement(
            "EventBridge",
            ["events:*"],
            [where.arn("events", "rule/*")],
            why="Clusters with the AWS Batch scheduler get an EventBridge rule, named by CloudFormation, that reports the job image build; limited to this account's rules (and Region when set).",
        ),
    ]


def storage_services(where: PermissionScope) -> list[str]:
    """The kms:ViaService values of EC2, EFS and FSx in the scope's Region (each Region with ``*``)."""
    return [f"{service}.{where.region}.{Aws.URL_SUFFIX}" for service in ("ec2", "elasticfilesystem", "fsx")]


def image_statements(where: PermissionScope) -> list[Permission]:
    """Image operations: build-image, delete-image, list-images, describe-image."""
    image_resources = [
        where.arn("imagebuilder", f"{kind}/parallelclusterimage-*")
        for kind in (
            "image",
            "image-recipe",
            "component",
            "distribution-configuration",
            "infrastructure-configuration",
        )
    ]
    image_profiles_and_roles = [
        where.iam_arn("instance-profile/parallelcluster/*"),
        where.iam_arn("role/parallelcluster/*"),
    ]
    return [
        where.statement(
            "EC2BuildAndDeleteImage",
            [
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DeregisterImage",
                "ec2:DeleteSnapshot",
            ],
            region_limited=True,
            why="Image builds look up and deregister AMIs and snapshots whose ids are assigned at build time; EC2 Describe* actions have no resource-level permissions.",
        ),
        where.statement(
            "IAMBuildImage",
            [
                "iam:CreateInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:GetInstanceProfile",
            ],
            [*image_profiles_and_roles, where.iam_arn("instance-profile/ParallelClusterImage*")],
            why="Image build roles and instance profiles are limited to the parallelcluster/ path and the ParallelClusterImage prefix.",
        ),
        where.statement(
            "IAMPassRoleBuildImage",
            ["iam:PassRole"],
            image_profiles_and_roles,
            {
                "StringEquals": {
                    "iam:PassedToService": [
                        "lambda.amazonaws.com",
                        "ec2.amazonaws.com",
                        "ec2.amazonaws.com.cn",
                    ]
                }
            },
            why="Only roles and instance profiles under the parallelcluster/ path may be passed, and only to Lambda and EC2.",
        ),
        where.statement(
            "CloudWatchBuildImage",
            ["logs:CreateLogGroup", "logs:TagResource", "logs:UntagResource"],
            [where.arn("logs", "log-group:/aws/lambda/ParallelClusterImage-*")],
            why="Image builds create log groups named /aws/lambda/ParallelClusterImage-*; the wildcard covers only those.",
        ),
        # ParallelCluster tags every image stack with the image's id (models/imagebuilder.py): the function
        # creates and deletes only stacks with it. (CloudFormationReadAndDelete describes them.)
        where.statement(
            "CloudFormationBuildImage",
            ["cloudformation:CreateStack"],
            [where.arn("cloudformation", "stack/*")],
            {"Null": {"aws:RequestTag/parallelcluster:image_id": "false"}},
            why="Each image build is a CloudFormation stack named by the user; creation is limited to stacks tagged parallelcluster:image_id.",
        ),
        where.statement(
            "CloudFormationDeleteImage",
            ["cloudformation:DeleteStack"],
            [where.arn("cloudformation", "stack/*")],
            {"Null": {"aws:ResourceTag/parallelcluster:image_id": "false"}},
            why="Image stacks are named by the user; deletion is limited to stacks tagged parallelcluster:image_id.",
        ),
        where.statement(
            "LambdaBuildAndDeleteImage",
            [
                "lambda:RemovePermission",
                "lambda:DeleteFunction",
                "lambda:CreateFunction",
                "lambda:TagResource",
                "lambda:GetFunction",
                "lambda:AddPermission",
                # CloudFormation's AWS::Lambda::Function handler reads these on create.
                "lambda:ListTags",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetFunctionRecursionConfig",
                "lambda:GetRuntimeManagementConfig",
            ],
            [where.arn("lambda", "function:ParallelClusterImage-*")],
            why="Image builds create helper functions named ParallelClusterImage-*; the wildcard covers only those.",
        ),
        where.statement(
            "ImageBuilderGetBuildImage",
            ["imagebuilder:Get*"],
            region_limited=True,
            why="Image builds read Image Builder images, recipes and components, including AWS-owned ones, whose ARNs depend on the build; these are read-only actions.",
        ),
        where.statement(
            "ImageBuilderBuildAndDeleteImage",
            [
                "imagebuilder:CreateImage",
                "imagebuilder:TagResource",
                "imagebuilder:CreateImageRecipe",
                "imagebuilder:CreateComponent",
                "imagebuilder:CreateDistributionConfiguration",
                "imagebuilder:CreateInfrastructureConfiguration",
                "imagebuilder:DeleteImage",
                "imagebuilder:GetImage",
                "imagebuilder:CancelImageCreation",
                "imagebuilder:DeleteComponent",
                "imagebuilder:DeleteImageRecipe",
                "imagebuilder:DeleteInfrastructureConfiguration",
                "imagebuilder:DeleteDistributionConfiguration",
                # CloudFormation removes CloudFormation's own tags before deleting (the handlers' delete).
                "imagebuilder:UntagResource",
            ],
            image_resources,
            why="Each image build creates Image Builder resources named parallelclusterimage-*; the wildcard covers only those.",
        ),
        where.statement(
            "SNSBuildAndDeleteImage",
            [
                "sns:GetTopicAttributes",
                "sns:TagResource",
                "sns:CreateTopic",
                "sns:Subscribe",
                "sns:Publish",
                "sns:DeleteTopic",
                "sns:Unsubscribe",
                # CloudFormation's AWS::SNS::Topic and Subscription handlers.
                "sns:ListTagsForResource",
                "sns:GetSubscriptionAttributes",
            ],
            [where.arn("sns", "ParallelClusterImage-*")],
            why="Image builds notify through topics named ParallelClusterImage-*; the wildcard covers only those.",
        ),
        where.statement(
            "IAMSLRBuildImage",
            ["iam:CreateServiceLinkedRole"],
            [where.iam_arn("role/aws-service-role/imagebuilder.amazonaws.com/AWSServiceRoleForImageBuilder")],
            {"StringLike": {"iam:AWSServiceName": ["imagebuilder.amazonaws.com"]}},
            why="The Image Builder service-linked role has a name chosen by AWS.",
        ),
        where.statement(
            "IAMDeleteImage",
            ["iam:RemoveRoleFromInstanceProfile"],
            image_profiles_and_roles,
            why="Limited to instance profiles and roles under the parallelcluster/ path.",
        ),
        where.statement(
            "S3BucketBuildAndDeleteImage",
            [
                "s3:PutObject",
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:CreateBucket",
                "s3:ListBucket",
                "s3:ListBucketVersions",
            ],
            [f"arn:{Aws.PARTITION}:s3:::parallelcluster-*/*"],
            region_limited=True,
            why="Image build artifacts live in buckets named parallelcluster-*; the wildcard covers only their objects.",
        ),
        where.statement(
            "CloudWatchDeleteImage",
            ["logs:DeleteLogGroup"],
            [
                where.arn("logs", "log-group:/aws/imagebuilder/ParallelClusterImage-*"),
                where.arn("logs", "log-group:/aws/lambda/ParallelClusterImage-*"),
            ],
            why="Image builds leave log groups named ParallelClusterImage-*; the wildcard covers only those.",
        ),
    ]


def log_retrieval_statements(where: PermissionScope) -> list[Permission]:
    """Reading and exporting cluster and image logs."""
    return [
        where.statement(
            "LogRetrieval",
            [
                "logs:DescribeLogGroups",
                "logs:FilterLogEvents",
                "logs:GetLogEvents",
                "logs:CreateExportTask",
                "logs:DescribeLogStreams",
                "logs:DescribeExportTasks",
            ],
            region_limited=True,
            why="Cluster and image logs live in log groups and streams named at run time; these actions read and export them.",
        )
    ]


def iam_admin_statements(
    where: PermissionScope, release: Release, permissions_boundary_arn: str, has_boundary: Flag
) -> list[Permission]:
    """IAM admin access: manage the roles ParallelCluster creates under ``parallelcluster/``.

    With a permissions boundary (``has_boundary``), roles may only be created, and policies only
    put or attached, when the role carries that boundary (``iam:PermissionsBoundary``).
    """
    cluster_roles = [where.iam_arn("role/parallelcluster/*")]
    boundary = [When(has_boundary, "StringEquals", {"iam:PermissionsBoundary": [permissions_boundary_arn]})]
    attachable = [
        where.iam_arn("policy/parallelcluster*"),
        where.iam_arn("policy/parallelcluster/*"),
        *(f"arn:{Aws.PARTITION}:iam::aws:policy/{name}" for name in attachable_aws_managed_policies(release)),
    ]
    return [
        where.statement(
            "IamRole",
            [
                "iam:CreateServiceLinkedRole",
                "iam:DeleteRole",
                "iam:TagRole",
                "iam:UntagRole",
                # CloudFormation's AWS::IAM::Role handler reads a role's tags and policies, and
                # updates its settings.
                "iam:ListRoleTags",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
                "iam:UpdateAssumeRolePolicy",
            ],
            cluster_roles,
            why="IAM admin access, asked for with EnableIamAdminAccess or PermissionsBoundaryPolicy: limited to roles under the parallelcluster/ path.",
        ),
        where.statement(
            "IamInlinePolicyAndCreateRole",
            ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"],
            cluster_roles,
            when=boundary,
            why="IAM admin access, asked for with EnableIamAdminAccess or PermissionsBoundaryPolicy: limited to roles under the parallelcluster/ path, and to roles with the permissions boundary when one is set.",
        ),
        where.statement(
            "IamPolicy",
            ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            cluster_roles,
            {"ArnLike": {"iam:PolicyARN": attachable}},
            when=boundary,
            why="IAM admin access, asked for with EnableIamAdminAccess or PermissionsBoundaryPolicy: limited to roles under the parallelcluster/ path and to the policies ParallelCluster attaches.",
        ),
    ]


def attachable_aws_managed_policies(release: Release) -> tuple[str, ...]:
    """The AWS managed policies the release attaches to the roles it creates."""
    return ATTACHABLE_AWS_MANAGED_POLICIES + (AWSBATCH_ATTACHABLE_AWS_MANAGED_POLICIES if release.awsbatch else ())


def fsx_s3_statements(where: PermissionScope, bucket_arns: Sequence[str], all_buckets: Flag) -> list[Permission]:
    """FSx for Lustre data repositories: S3 access on the listed buckets, or all (``all_buckets``).

    In the portable template ``bucket_arns`` is one comma-separated value, and ``all_buckets``
    says whether it is ``*``: the bucket and object ARNs are then made at deploy time.
    """
    if all_buckets.certain:
        buckets_and_objects = [ALL_BUCKETS]
    elif all_buckets.known:
        buckets_and_objects = [*bucket_arns, *(f"{arn}/*" for arn in bucket_arns)]
    else:
        (listed,) = bucket_arns
        objects = Fn.join("", [Fn.join("/*,", Fn.split(",", listed)), "/*"])
        buckets_and_objects = Token.as_list(
            all_buckets.pick([ALL_BUCKETS], Fn.split(",", Fn.join(",", [listed, objects])))
        )
    return [
        where.statement(
            "FSxS3PoliciesAttach",
            ["iam:CreateServiceLinkedRole", "iam:AttachRolePolicy", "iam:PutRolePolicy"],
            [where.iam_arn("role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/*")],
            why="FSx for Lustre data repositories need their service-linked role, whose name is chosen by AWS.",
        ),
        where.statement(
            "EnableFSxS3Access",
            ["s3:Get*", "s3:List*", "s3:PutObject"],
            buckets_and_objects,
            why="FSx for Lustre data repositories read and write the objects of the buckets listed in FsxS3Buckets, as asked for with EnableFSxS3Access.",
        ),
    ]


# Statements that grant every action of a service (cdk-nag NIST/HIPAA IAMPolicyNoStatementsWithFullAccess).
FULL_ACCESS_REASON = (
    "ParallelCluster manages the FSx and EFS file systems of clusters, and the S3 buckets of its own "
    "artifacts, through their whole life cycle, as the official ParallelCluster policies grant; each "
    "is limited to this account and to the ParallelCluster names or Region where the service allows it."
)
AWSBATCH_FULL_ACCESS_REASON = (
    "ParallelCluster manages the Batch compute environment, job queue and job definitions, the job image "
    "repository, the CodeBuild project and the EventBridge rule of each AWS Batch cluster through their "
    "whole life cycle, as the official ParallelCluster policies grant; each is limited to this account "
    "(and Region when set), and CodeBuild to the pcluster-* projects."
)
