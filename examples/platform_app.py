#!/usr/bin/env python3
"""A platform team's CDK app: its own resources, with the ParallelCluster API embedded beside them.

The ``HpcPlatform`` stack holds what the team runs anyway, a bucket of cluster configurations and
the role its CI (CodeBuild) works as, and one ``ParallelClusterApi`` in a ``NestedStack``: the
official OpenAPI spec pins two logical ids (``ParallelClusterFunction``,
``APIGatewayExecutionRole``), so the API gets a template of its own. After construction,
``grant_invoke`` lets the CI role call the API; it also admits the role in the API's resource
policy. The same cdk-nag packs as the main app audit every synth.

With this project installed (``pip install .``, or from git), from the repository root (whose
``cdk.json`` holds the CDK feature flags)::

    npx cdk synth --app ".venv/bin/python examples/platform_app.py"

The CI then calls the API with its own credentials:
``pcluster-api --stack-name HpcPlatform --no-assume-role GET /v3/clusters --query region=eu-west-1``.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib import ManagedPolicyRole, ParallelClusterApi, audit
from pcluster_api_client import outputs
from stacks.parallelcluster_api_stack import add_nag_packs

# The platform's one Region: the stack deploys there, and the API manages clusters there only.
REGION = "eu-west-1"


class HpcPlatformStack(cdk.Stack):
    """Cluster configurations, the CI role, and the ParallelCluster API the CI drives.

    Attributes: ``configs`` (the bucket), ``ci_role``, ``api`` (the :class:`ParallelClusterApi`).
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
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
        key = kms.Key(
            self,
            "ClusterConfigsKey",
            description="Encrypts the cluster configurations",
            enable_key_rotation=True,
        )
        self.configs = s3.Bucket(
            self,
            "ClusterConfigs",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
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

        # Permissions in a customer-managed policy, not an inline one (NIST 800-53, HIPAA).
        self.ci_role = ManagedPolicyRole(
            self,
            "CiRole",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description="The platform's CI: reads cluster configurations and calls the ParallelCluster API",
        )
        configurations = self.configs.arn_for_objects("*")
        self.ci_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[configurations])
        )
        self.ci_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.configs.bucket_arn])
        )
        key.grant_decrypt(self.ci_role)
        audit.acknowledge(
            self.ci_role.managed_policy,
            "The CI reads every cluster configuration of this bucket, which holds nothing else; "
            "it may not write or delete any.",
            f"AwsSolutions-IAM5[Resource::{audit.nag_text(self, configurations)}]",
        )

        api_stack = cdk.NestedStack(self, "ParallelClusterApi", description="AWS ParallelCluster API")
        self.api = ParallelClusterApi(api_stack, "Api", region=REGION, iam_role_and_policy_prefix="hpc-")
        self.api.grant_invoke(self.ci_role)
        self.api.acknowledge_invoke_grant(
            self.ci_role.managed_policy,
            "The CI creates, updates and deletes clusters and images, so it may call every method "
            "and path of this one API.",
        )

        # Under the official output name, so that pcluster-api finds the API in this stack.
        cdk.CfnOutput(
            self,
            outputs.INVOKE_URL,
            description="URL to reach the ParallelCluster API",
            value=self.api.invoke_url,
        )


def build(app: cdk.App) -> HpcPlatformStack:
    """The platform's stack in ``app``, audited by the same cdk-nag packs as the main app."""
    add_nag_packs(app, audit.PACKS)
    return HpcPlatformStack(app, "HpcPlatform", env=cdk.Environment(region=REGION))


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
