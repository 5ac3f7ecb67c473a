"""Configurations users run: the context keys each sets on top of cdk.json (make audit and the tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION, SUPPORTED_PARALLELCLUSTER_VERSIONS

ROOT = Path(__file__).resolve().parents[1]

TEST_REGION = "eu-west-1"
ACCOUNT = "123456789012"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/pcluster-boundary"
CERTIFICATE_ARN = f"arn:aws:acm:{TEST_REGION}:{ACCOUNT}:certificate/0f4e7c52-1a2b-4c3d-9e8f-123456789abc"
VPC_ENDPOINT_ID = "vpce-0123456789abcdef0"
ALARM_TOPIC_ARN = f"arn:aws:sns:{TEST_REGION}:{ACCOUNT}:pcluster-api-alarms"

# Configurations users run, by name: the context keys they set on top of cdk.json.
CONFIGURATIONS: dict[str, dict[str, str]] = {
    "default": {},
    "single-region": {"Region": TEST_REGION},
    "ecr-image": {"EcrImageUri": f"{ACCOUNT}.dkr.ecr.{TEST_REGION}.amazonaws.com/pcluster-api:3.16.1"},
    "own-spec": {"ApiDefinitionS3Uri": "s3://my-specs/parallelcluster/ParallelCluster.openapi.yaml"},
    "no-user-role": {"CreateApiUserRole": "false"},
    "function-role": {"ParallelClusterFunctionRole": f"arn:aws:iam::{ACCOUNT}:role/pcluster-api"},
    "additional-policies": {
        "ParallelClusterFunctionAdditionalPolicies": (
            f"arn:aws:iam::{ACCOUNT}:policy/pcluster-custom-actions,arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"
        )
    },
    "iam-admin": {"EnableIamAdminAccess": "true"},
    "iam-admin-boundary": {"EnableIamAdminAccess": "true", "PermissionsBoundaryPolicy": BOUNDARY_ARN},
    "boundary": {"PermissionsBoundaryPolicy": BOUNDARY_ARN},
    "fsx-buckets": {
        "EnableFSxS3Access": "true",
        "FsxS3Buckets": "arn:aws:s3:::fsx-data-1,arn:aws:s3:::fsx-data-2",
    },
    "fsx-all-buckets": {"EnableFSxS3Access": "true", "FsxS3Buckets": "*"},
    "prefix": {"IAMRoleAndPolicyPrefix": "pc-"},
    "private": {"VpcEndpointId": VPC_ENDPOINT_ID},
    "private-no-user-role": {"VpcEndpointId": VPC_ENDPOINT_ID, "CreateApiUserRole": "false"},
    "custom-domain-zone-prefix": {
        "CustomDomainName": "pcluster.example.com",
        "CustomDomainCertificate": CERTIFICATE_ARN,
        "CustomDomainHostedZoneId": "Z0123456789ABCDEFGHIJ",
        "IAMRoleAndPolicyPrefix": "pc-",
    },
    "custom-domain-no-zone": {
        "CustomDomainName": "pcluster.example.com",
        "CustomDomainCertificate": CERTIFICATE_ARN,
    },
    "public-image": {"PublicEcrImageUri": "public.ecr.aws/parallelcluster/pcluster-api:3.5.1"},
    "image-builder-subnet": {
        "ImageBuilderVpcId": "vpc-0123456789abcdef0",
        "ImageBuilderSubnetId": "subnet-0123456789abcdef0",
    },
    "local-image": {"LambdaImageSource": "asset"},
    "layer": {"LambdaImageSource": "layer"},
    # AWS's template's CustomBucket: the layer from another bucket.
    "layer-custom-bucket": {"LambdaImageSource": "layer", "CustomBucket": "my-parallelcluster-artifacts"},
    "account-role-existing": {"ApiGatewayAccountRole": "existing"},
    "no-api-logging": {"ApiGatewayAccountRole": "none"},
    "hardened": {
        "WebAclArn": f"arn:aws:wafv2:{TEST_REGION}:{ACCOUNT}:regional/webacl/pcluster-api/0f4e7c52-1a2b-4c3d-9e8f-123456789abc",
        "LogsKmsKeyArn": f"arn:aws:kms:{TEST_REGION}:{ACCOUNT}:key/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "ReservedConcurrency": "20",
        "AlarmTopicArn": ALARM_TOPIC_ARN,
        "AllowedPrincipalArns": f"arn:aws:iam::{ACCOUNT}:role/ci-deployer,arn:aws:iam::{ACCOUNT}:role/portal",
    },
    "logging-and-limits": {
        "WebAclArn": f"arn:aws:wafv2:{TEST_REGION}:{ACCOUNT}:regional/webacl/pcluster-api/0f4e7c52-1a2b-4c3d-9e8f-123456789abc",
        "LogsKmsKeyArn": f"arn:aws:kms:{TEST_REGION}:{ACCOUNT}:key/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "ReservedConcurrency": "20",
        "AlarmTopicArn": ALARM_TOPIC_ARN,
    },
    # What the ParallelCluster UI passes to the API template it nests, with the official layer.
    "parallelcluster-ui": {
        "CreateApiUserRole": "false",
        "EnableIamAdminAccess": "true",
        "PermissionsBoundaryPolicy": BOUNDARY_ARN,
        "IAMRoleAndPolicyPrefix": "pcui-",
        "ApiDefinitionS3Uri": f"s3://{TEST_REGION}-aws-parallelcluster/parallelcluster/3.16.1/api/ParallelCluster.openapi.yaml",
        "VpcEndpointId": VPC_ENDPOINT_ID,
        "ParallelClusterFunctionAdditionalPolicies": f"arn:aws:iam::{ACCOUNT}:policy/pcui-custom-actions",
        "LambdaImageSource": "layer",
    },
    "cross-account-principal": {
        "AllowedPrincipalArns": "arn:aws:iam::210987654321:role/portal",
        "AllowCrossAccountPrincipals": "true",
    },
    "locked-down": {
        "Region": TEST_REGION,
        "EnableIamAdminAccess": "true",
        "PermissionsBoundaryPolicy": BOUNDARY_ARN,
        "EnableFSxS3Access": "true",
        "FsxS3Buckets": "arn:aws:s3:::fsx-data-1",
        "IAMRoleAndPolicyPrefix": "hpc-",
        "StackName": "HpcApi",
    },
}


# Every other served version, with the in-account image build and with the official layer, in its
# largest configuration (IAM admin access with a boundary, one Region): its Batch policy and the
# attachable Batch policies of 3.15 and older among the checked templates.
_OTHER_VERSIONS = [version for version in SUPPORTED_PARALLELCLUSTER_VERSIONS if version != DEFAULT_PARALLELCLUSTER_VERSION]
CONFIGURATIONS.update({f"version-{v}": {"ParallelClusterVersion": v, **CONFIGURATIONS["locked-down"]} for v in _OTHER_VERSIONS})
CONFIGURATIONS.update({f"version-{v}-layer": {"ParallelClusterVersion": v, "LambdaImageSource": "layer"} for v in _OTHER_VERSIONS})


def cdk_json_context() -> dict[str, Any]:
    return json.loads((ROOT / "cdk.json").read_text())["context"]


def synthesize_configuration(configuration: str, outdir: Path, region: str | None = TEST_REGION):
    """Synthesize a configuration the way ``app.py`` does, cdk-nag packs included.

    Returns the stack and its template; the packs' report is ``outdir/validation-report.json``.
    """
    return synthesize_settings(CONFIGURATIONS[configuration], outdir, region)


def synthesize_settings(settings: dict[str, str], outdir: Path, region: str | None = TEST_REGION):
    """Synthesize the app with these context settings on top of cdk.json (see synthesize_configuration)."""
    import aws_cdk as cdk

    from stacks import ParallelClusterApiStack

    context = {**cdk_json_context(), **settings}
    app = cdk.App(context=context, outdir=str(outdir))
    stack = ParallelClusterApiStack.from_app_context(app, deploy_region=region)
    return stack, app.synth().get_stack_by_name(stack.stack_name).template
