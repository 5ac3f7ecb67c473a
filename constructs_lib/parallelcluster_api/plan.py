"""What the construct builds, as choices (:class:`~constructs_lib.flags.Flag`) and the values they need.

:class:`~constructs_lib.ParallelClusterApi` turns its typed props into a :class:`Plan` whose choices
are all known at synth time; the portable template (``stacks/portable_template.py``) makes one whose
choices are conditions over its parameters. The function and front-end builders read only the plan,
so both deliveries come from the same code. A value a choice needs is read only where the choice
may be yes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns

from constructs_lib.conventions import Conventions
from constructs_lib.flags import NO, YES, Flag
from constructs_lib.parallelcluster_api.function_permissions import PermissionScope


@dataclass(frozen=True)
class CodePlan:
    """Where the function's code comes from: the official layer, a given image, or Image Builder.

    Image Builder builds ``lambda_image/`` or copies ``copy_image_uri`` when neither the layer nor
    a given image is used (and the deployer's Docker does not build it).
    """

    uses_layer: Flag = NO
    uses_ecr_image: Flag = NO
    ecr_image_uri: str = ""
    copies_image: Flag = NO
    copy_image_uri: str = ""
    #: The deployer's Docker builds the image (the CDK app only: a template has no assets).
    local_docker: bool = False
    #: The official layer comes from ``layer_bucket`` rather than the Region's ParallelCluster bucket
    #: (AWS's template's CustomBucket).
    uses_custom_bucket: Flag = NO
    layer_bucket: str = ""
    has_build_network: Flag = NO
    vpc_id: str = ""
    subnet_id: str = ""

    @property
    def uses_image(self) -> Flag:
        return ~self.uses_layer

    @property
    def builds_in_account(self) -> Flag:
        """EC2 Image Builder makes the image (build or copy)."""
        if self.local_docker:
            return NO
        return ~self.uses_layer & ~self.uses_ecr_image


@dataclass(frozen=True)
class RolePlan:
    """The function's role: one the construct creates (with which permissions), or the deployer's."""

    uses_existing: Flag = NO
    existing: iam.IRole | None = None
    iam_admin: Flag = NO
    fsx: Flag = NO
    fsx_all_buckets: Flag = NO
    #: Bucket ARNs; in the template one comma-separated value, split at deploy time.
    fsx_bucket_arns: Sequence[str] = ()
    has_additional_policies: Flag = NO
    additional_policies: Sequence[iam.IManagedPolicy] = ()
    #: In the template: the comma-separated ARNs of the additional policies, split at deploy time.
    additional_policy_arns: str = ""

    @property
    def creates(self) -> Flag:
        return ~self.uses_existing


@dataclass(frozen=True)
class OfficialDomain:
    """The custom domain and hosted zone a stack of AWS's template was created with.

    SAM names that stack's domain resources after these values; the domain resources built from a
    plan that names them take the same logical ids, so that the stack keeps its domain when it
    moves to this template (``rest_api.sam_logical_id``).
    """

    domain_name: str
    hosted_zone_id: str


@dataclass(frozen=True)
class FrontEndPlan:
    """Who reaches the API and how: user role, endpoint, custom domain, request logging, WAF."""

    user_role: Flag = YES
    private: Flag = NO
    vpc_endpoint: ec2.IInterfaceVpcEndpoint | None = None
    custom_domain: Flag = NO
    domain_name: str = ""
    certificate: acm.ICertificate | None = None
    has_hosted_zone: Flag = NO
    hosted_zone: route53.IHostedZone | None = None
    #: Where the stack comes from AWS's template: its domain, after which the domain resources are named.
    official_domain: OfficialDomain | None = None
    allowed_principal_arns: Sequence[str] = ()
    allow_cross_account_principals: bool = False
    #: The construct sets the account's API Gateway CloudWatch role where it has none.
    ensures_account_role: Flag = YES
    #: Access and execution logs of the stage (the account has, or gets, a CloudWatch role).
    logs_requests: Flag = YES
    has_web_acl: Flag = NO
    web_acl_arn: str = ""


@dataclass(frozen=True)
class Plan:
    """Everything the builders need; see the module docstring."""

    parallelcluster_version: str
    permissions: PermissionScope
    api_definition_location: str
    conventions: Conventions
    code: CodePlan = field(default_factory=CodePlan)
    role: RolePlan = field(default_factory=RolePlan)
    front_end: FrontEndPlan = field(default_factory=FrontEndPlan)
    has_boundary: Flag = NO
    #: The boundary every role of the construct gets (``PermissionsBoundary``).
    boundary: iam.IManagedPolicy | None = None
    #: Its ARN, as the function's IAM admin statements require it of the roles the function creates.
    boundary_arn: str = ""
    reserves_concurrency: Flag = NO
    #: A number of executions; in the template the parameter's value.
    reserved_concurrent_executions: int | str = 0
    #: The SNS topic the alarms notify (``constructs_lib.api_alarms``), when there is one.
    has_alarm_topic: Flag = NO
    alarm_topic: sns.ITopic | None = None
