#!/usr/bin/env python3
"""A platform team's CDK app: a network stack, and a platform stack that embeds two ParallelCluster APIs.

``HpcNetwork`` is what a network team owns: a VPC without NAT gateways (public subnets that map
public IPs, for image builds; isolated subnets, for interface endpoints; flow logs), an
``execute-api`` interface endpoint, the platform's Route 53 zone and the API's ACM certificate,
validated in that zone. ``HpcPlatform`` receives those constructs and holds what the HPC team runs:
a bucket of cluster configurations, the role its CI works as, a permissions boundary, a key for its
logs, and two ``ParallelClusterApi``. CDK carries each reference across stacks; with this
repository's ``cdk.json`` (``@aws-cdk/core:defaultCrossStackReferences: weak``) the template that uses
a value, nested ones included, reads the network stack's output with ``Fn::GetStackOutput``.

- ``InternalApi``: private, reachable only through the VPC endpoint; the CI calls it, so
  ``grant_invoke`` gives the CI role ``execute-api:Invoke`` and admits it in the resource policy.
  It runs the official ParallelCluster Lambda layer (nothing to build) and may create the IAM
  roles of clusters, only under the platform's permissions boundary.
- ``UserApi``: regional, behind the custom domain ``api.hpc.example.com`` (certificate and alias
  record in the network stack's zone). Its image is built in the VPC's public subnet.

A private API cannot have a regional custom domain, hence two APIs; and the official OpenAPI spec
pins two logical ids (``ParallelClusterFunction``, ``APIGatewayExecutionRole``), so each API gets
a ``NestedStack`` of its own. The four cdk-nag packs of the main app audit every synth.

With this project installed (``pip install .``), from the repository root (whose ``cdk.json``
holds the CDK feature flags)::

    npx cdk synth --app ".venv/bin/python examples/platform_app.py"

The hosted zone must be delegated from its parent domain before the certificate can validate
(CloudFormation waits for it). Then users call the user-facing API with the official outputs of
``HpcPlatform``, and the CI, from inside the VPC, the internal one with its own credentials::

    pcluster-api --stack-name HpcPlatform GET /v3/clusters --query region=eu-west-1
    pcluster-api --stack-name "$INTERNAL_API_STACK" --no-assume-role GET /v3/clusters --query region=eu-west-1

where ``INTERNAL_API_STACK`` is the ``InternalApiStack`` output of ``HpcPlatform``: the nested
stack that holds the internal API's outputs under the official names.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib import (
    ApiEndpoint,
    BuildNetwork,
    CustomDomain,
    FunctionCode,
    FunctionRole,
    ManagedPolicyRole,
    ParallelClusterApi,
    audit,
)
from stacks.parallelcluster_api_stack import add_nag_packs, declare_outputs

# The platform's one Region: the stacks deploy there, and the APIs manage clusters there only.
REGION = "eu-west-1"
VPC_CIDR = "10.40.0.0/16"
# The platform's DNS zone (delegated from example.com) and the user-facing API's name in it.
ZONE_NAME = "hpc.example.com"
API_DOMAIN_NAME = f"api.{ZONE_NAME}"


def logs_key(scope: Construct, construct_id: str, *, description: str) -> kms.Key:
    """A KMS key that CloudWatch Logs may use for the log groups of this account and Region."""
    key = kms.Key(scope, construct_id, description=description, enable_key_rotation=True)
    stack = cdk.Stack.of(scope)
    # CloudWatch Logs encrypts with the key on the log group's behalf, and names the log group in
    # the encryption context (CloudWatch Logs user guide, "Encrypt log data using AWS KMS").
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
    return key


class HpcNetworkStack(cdk.Stack):
    """The network the platform runs in, and the names it answers under.

    Attributes: ``vpc``, ``build_subnet`` (public, maps public IPs: where images are built),
    ``api_endpoint`` (the ``execute-api`` interface endpoint), ``zone``, ``certificate`` (of
    :data:`API_DOMAIN_NAME`).
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)

        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=logs_key(self, "FlowLogsKey", description="Encrypts the VPC flow logs"),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # The flow logs' permissions in a customer-managed policy, not an inline one (NIST 800-53, HIPAA).
        flow_logs_role = ManagedPolicyRole(
            self, "FlowLogsRole", assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com")
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            max_azs=2,
            # Nothing here needs outbound traffic but the image builds, which use public IPs.
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Build", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24, map_public_ip_on_launch=True
                ),
                ec2.SubnetConfiguration(name="Endpoints", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs, flow_logs_role)
                )
            },
        )
        self.build_subnet = self.vpc.public_subnets[0]
        for subnet in self.vpc.public_subnets:
            audit.acknowledge(
                subnet,
                "Image Builder's build instances reach package registries and AWS endpoints through "
                "the internet gateway, which needs a public IP on each instance; their security "
                "group allows HTTPS out and nothing in, and no NAT gateway is paid for.",
                "NIST.800.53.R5-VPCSubnetAutoAssignPublicIpDisabled",
                "HIPAA.Security-VPCSubnetAutoAssignPublicIpDisabled",
                "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
                "HIPAA.Security-VPCNoUnrestrictedRouteToIGW",
            )

        # HTTPS in from the VPC; nothing out (an endpoint answers, it never connects).
        endpoint_security_group = ec2.SecurityGroup(
            self,
            "ExecuteApiEndpointSecurityGroup",
            vpc=self.vpc,
            description="execute-api interface endpoint: HTTPS from the VPC",
            allow_all_outbound=False,
        )
        endpoint_security_group.add_ingress_rule(ec2.Peer.ipv4(VPC_CIDR), ec2.Port.HTTPS, "HTTPS from the VPC")
        self.api_endpoint = self.vpc.add_interface_endpoint(
            "ExecuteApi",
            service=ec2.InterfaceVpcEndpointAwsService.APIGATEWAY,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[endpoint_security_group],
            open=False,
            # The private API's URL is <api id>-<vpce id>.execute-api..., a Route 53 alias that API
            # Gateway creates because the API names this endpoint: it needs no private DNS. Private
            # DNS would send every execute-api name of the VPC to the endpoint, and regional APIs
            # could no longer be reached from the VPC by their default names (API Gateway
            # developer guide, "Invoke a private API").
            private_dns_enabled=False,
        )

        self.zone = route53.PublicHostedZone(self, "Zone", zone_name=ZONE_NAME)
        self.certificate = acm.Certificate(
            self,
            "ApiCertificate",
            domain_name=API_DOMAIN_NAME,
            validation=acm.CertificateValidation.from_dns(self.zone),
        )


class HpcPlatformStack(cdk.Stack):
    """Cluster configurations, the CI role, and the two ParallelCluster APIs, on the network's endpoint and zone.

    Attributes: ``configs`` (the bucket), ``ci_role``, ``boundary``, ``logs_key``,
    ``internal_api`` and ``user_api`` (each a :class:`ParallelClusterApi` in its own nested stack).
    """

    def __init__(self, scope: Construct, construct_id: str, *, network: HpcNetworkStack, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)

        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # S3 delivers server access logs only to buckets with S3-managed keys.
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365))],
        )
        audit.acknowledge(
            access_logs,
            "S3 delivers server access logs only to buckets encrypted with S3-managed keys, "
            "so a KMS key cannot encrypt this one.",
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "HIPAA.Security-S3DefaultEncryptionKMS",
        )
        configs_key = kms.Key(
            self,
            "ClusterConfigsKey",
            description="Encrypts the cluster configurations",
            enable_key_rotation=True,
        )
        self.configs = s3.Bucket(
            self,
            "ClusterConfigs",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=configs_key,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="cluster-configs/",
        )
        for bucket in (access_logs, self.configs):
            audit.acknowledge(
                bucket,
                "Versioning keeps every earlier object version in this Region, and the platform "
                "needs no copy elsewhere because its clusters run only here.",
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                "HIPAA.Security-S3BucketReplicationEnabled",
            )

        # The CI (CodeBuild, in the VPC) reads cluster configurations and drives the internal API.
        # Permissions in a customer-managed policy, not an inline one (NIST 800-53, HIPAA).
        self.ci_role = ManagedPolicyRole(
            self,
            "CiRole",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description="The platform's CI: reads cluster configurations and calls the internal ParallelCluster API",
        )
        configurations = self.configs.arn_for_objects("*")
        self.ci_role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[configurations]))
        self.ci_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.configs.bucket_arn])
        )
        configs_key.grant_decrypt(self.ci_role)
        audit.acknowledge(
            self.ci_role.policy,
            "The CI reads every cluster configuration of this bucket, which holds nothing else; "
            "it may not write or delete any.",
            f"AwsSolutions-IAM5[Resource::{audit.nag_text(self, configurations)}]",
        )

        # Every role the APIs create, and every role ParallelCluster creates for clusters and
        # images, gets this boundary: within it, their own policies decide; no one under it may
        # change or remove it.
        boundary_name = f"{self.stack_name}-PermissionsBoundary"
        boundary_arn = self.format_arn(service="iam", region="", resource="policy", resource_name=boundary_name)
        self.boundary = iam.ManagedPolicy(
            self,
            "PermissionsBoundary",
            managed_policy_name=boundary_name,
            description="Permissions boundary of the ParallelCluster APIs' roles and of the roles they create",
            statements=[
                iam.PolicyStatement(sid="WithinIdentityPolicies", actions=["*"], resources=["*"]),
                iam.PolicyStatement(
                    sid="KeepTheBoundary",
                    effect=iam.Effect.DENY,
                    actions=["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="LeaveTheBoundaryAsItIs",
                    effect=iam.Effect.DENY,
                    actions=[
                        "iam:CreatePolicyVersion",
                        "iam:DeletePolicy",
                        "iam:DeletePolicyVersion",
                        "iam:SetDefaultPolicyVersion",
                    ],
                    resources=[boundary_arn],
                ),
            ],
        )
        audit.acknowledge(
            self.boundary,
            "A permissions boundary grants nothing by itself: it caps the roles it bounds, whose "
            "own policies grant their permissions, and its deny statements keep it in place.",
            "AwsSolutions-IAM5[Action::*]",
            "AwsSolutions-IAM5[Resource::*]",
            "NIST.800.53.R5-IAMPolicyNoStatementsWithAdminAccess",
            "NIST.800.53.R5-IAMPolicyNoStatementsWithFullAccess",
            "HIPAA.Security-IAMPolicyNoStatementsWithAdminAccess",
            "HIPAA.Security-IAMPolicyNoStatementsWithFullAccess",
        )
        self.logs_key = logs_key(self, "ApiLogsKey", description="Encrypts the ParallelCluster APIs' logs")

        internal_stack = cdk.NestedStack(self, "InternalApi", description="ParallelCluster API for the platform's CI")
        self.internal_api = ParallelClusterApi(
            internal_stack,
            "Api",
            region=REGION,
            iam_role_and_policy_prefix="hpc-ci-",
            function_code=FunctionCode.official_layer(),
            function_role=FunctionRole.create(enable_iam_admin_access=True),
            permissions_boundary=self.boundary,
            endpoint=ApiEndpoint.private(network.api_endpoint),
            logs_key=self.logs_key,
        )
        self.internal_api.grant_invoke(self.ci_role)
        self.internal_api.acknowledge_invoke_grant(
            self.ci_role.policy,
            "The CI creates, updates and deletes clusters and images, so it may call every method "
            "and path of this one API.",
        )
        declare_outputs(internal_stack, self.internal_api)

        user_stack = cdk.NestedStack(self, "UserApi", description="ParallelCluster API for the platform's users")
        self.user_api = ParallelClusterApi(
            user_stack,
            "Api",
            region=REGION,
            iam_role_and_policy_prefix="hpc-user-",
            function_code=FunctionCode.build_in_account(network=BuildNetwork.of(network.vpc, network.build_subnet)),
            permissions_boundary=self.boundary,
            endpoint=ApiEndpoint.regional(
                custom_domain=CustomDomain(API_DOMAIN_NAME, network.certificate, hosted_zone=network.zone)
            ),
            logs_key=self.logs_key,
        )
        # Users call the user-facing API: pcluster-api finds it under the official names here.
        declare_outputs(self, self.user_api)
        cdk.CfnOutput(
            self,
            "InternalApiStack",
            description="Stack that holds the internal ParallelCluster API's outputs (pcluster-api --stack-name)",
            value=internal_stack.stack_id,
        )


def build(app: cdk.App) -> tuple[HpcNetworkStack, HpcPlatformStack]:
    """The platform's stacks in ``app``, audited by the same cdk-nag packs as the main app."""
    add_nag_packs(app, audit.PACKS)
    env = cdk.Environment(region=REGION)
    network = HpcNetworkStack(app, "HpcNetwork", env=env)
    return network, HpcPlatformStack(app, "HpcPlatform", network=network, env=env)


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
