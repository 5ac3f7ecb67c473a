"""What the construct builds, as choices (:class:`~constructs_lib.flags.Flag`) and the values they need.

:class:`ParallelClusterApi` turns its typed props into a :class:`Plan` whose choices are all known
at synth time; the portable template (``stacks/portable_template.py``) makes one whose choices are
conditions over its parameters. The function and front-end builders read only the plan, so both
deliveries come from the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_route53 as route53

from constructs_lib.flags import NO, YES, Flag


@dataclass(frozen=True)
class CodePlan:
    """Where the function's code comes from. Exactly one source applies."""

    uses_layer: Flag = NO
    uses_ecr_image: Flag = NO
    ecr_image_uri: str | None = None
    copies_image: Flag = NO
    copy_image_uri: str | None = None
    #: The deployer's Docker builds the image (the CDK app only: a template has no assets).
    local_docker: bool = False
    has_build_network: Flag = NO
    vpc_id: str | None = None
    subnet_id: str | None = None

    @property
    def builds_in_account(self) -> Flag:
        """EC2 Image Builder makes the image (build or copy): no layer, no given image, no Docker."""
        if self.local_docker:
            return NO
        return ~self.uses_layer & ~self.uses_ecr_image

    @property
    def uses_image(self) -> Flag:
        return ~self.uses_layer


@dataclass(frozen=True)
class RolePlan:
    """The function's role: one the construct creates (with which permissions) or the deployer's."""

    uses_existing: Flag = NO
    existing: iam.IRole | None = None
    iam_admin: Flag = NO
    fsx: Flag = NO
    fsx_all_buckets: Flag = NO
    #: Bucket ARNs, or (in the template) one comma-separated value to split at deploy time.
    fsx_bucket_arns: Sequence[str] = ()
    has_additional_policies: Flag = NO
    additional_policies: Sequence[iam.IManagedPolicy] = ()
    #: In the template: the comma-separated policy ARNs, split at deploy time.
    additional_policy_arns: str | None = None

    @property
    def creates(self) -> Flag:
        return ~self.uses_existing


@dataclass(frozen=True)
class FrontEndPlan:
    """Who reaches the API and how: user role, endpoint, custom domain, logging, WAF."""

    user_role: Flag = YES
    private: Flag = NO
    vpc_endpoint: ec2.IInterfaceVpcEndpoint | None = None
    vpc_endpoint_id: str | None = None
    custom_domain: Flag = NO
    domain_name: str | None = None
    certificate: acm.ICertificate | None = None
    has_zone: Flag = NO
    hosted_zone: route53.IHostedZone | None = None
    allowed_principal_arns: Sequence[str] = ()
    allow_cross_account_principals: bool = False
    #: The construct sets the account's API Gateway CloudWatch role where it has none.
    ensures_account_role: Flag = YES
    #: Access and execution logs of the stage (the account has a CloudWatch role).
    request_logging: Flag = YES
    web_acl: Flag = NO
    web_acl_arn: str | None = None


@dataclass(frozen=True)
class Plan:
    """Everything the builders need; see the module docstring."""

    parallelcluster_version: str
    region: str
    all_regions: Flag
    api_definition_location: str
    code: CodePlan = field(default_factory=CodePlan)
    role: RolePlan = field(default_factory=RolePlan)
    front_end: FrontEndPlan = field(default_factory=FrontEndPlan)
    has_boundary: Flag = NO
    boundary: iam.IManagedPolicy | None = None
    reserved_concurrency: Flag = NO
    #: A number, or (in the template) the parameter's value.
    reserved_concurrent_executions: int | float | None = None
