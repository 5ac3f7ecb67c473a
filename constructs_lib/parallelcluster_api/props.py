"""The typed props of :class:`~constructs_lib.ParallelClusterApi`.

Choices are classes with one factory method per option (like ``aws_lambda.Code``), so that a
combination that cannot work cannot be written: a custom domain belongs to a regional endpoint,
IAM admin access to a role the construct creates, a build network to an image built in the
account. References take CDK interfaces (``IRole``, ``ICertificate``, ``IHostedZone``...); where a
user holds only an id or an ARN, CDK's own ``from_*`` methods make one, and the factories here
accept the ids and URIs that have no CDK type. Values that are tokens are left to deploy time.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3

from constructs_lib import validation as forms


class AccountRoleMode(enum.Enum):
    """What the API does with the account's API Gateway CloudWatch role, which request logging needs.

    The role is one setting of the account and Region, shared by every REST API there.
    """

    #: Keep the account's role when it has one, else set a role this construct creates
    #: (handed over or reset when the stack goes, never breaking another API's logging).
    ENSURE = "ensure"
    #: The platform manages the account's role; this construct does not touch account settings.
    EXISTING = "existing"
    #: No CloudWatch logging of API requests (Lambda logs and X-Ray traces remain).
    NONE = "none"


@dataclass(frozen=True)
class BuildNetwork:
    """The VPC and subnet of the image build instance (for accounts without a default VPC).

    The subnet needs a route to the internet: a public subnet that maps public IPs on launch, or a
    private one behind a NAT gateway.
    """

    vpc_id: str
    subnet_id: str

    def __post_init__(self) -> None:
        forms.VPC_ID.check("vpc_id", self.vpc_id)
        forms.SUBNET_ID.check("subnet_id", self.subnet_id)

    @classmethod
    def of(cls, vpc: ec2.IVpc, subnet: ec2.ISubnet) -> BuildNetwork:
        """The network of ``subnet`` in ``vpc``."""
        return cls(vpc_id=vpc.vpc_id, subnet_id=subnet.subnet_id)


class FunctionCodeSource(enum.Enum):
    """Where the function's code comes from (see :class:`FunctionCode`)."""

    BUILD_IN_ACCOUNT = "imagebuilder"
    COPY_OF_IMAGE = "copy"
    ECR_IMAGE = "ecr"
    LOCAL_DOCKER = "asset"
    OFFICIAL_LAYER = "layer"


@dataclass(frozen=True)
class FunctionCode:
    """Where the API function's code comes from: build it, copy an image, run one, or the layer.

    Use the factory methods; the default is :meth:`build_in_account`.
    """

    source: FunctionCodeSource
    image_uri: str | None = None
    network: BuildNetwork | None = None
    layer_bucket: str | None = None

    @classmethod
    def build_in_account(cls, *, network: BuildNetwork | None = None) -> FunctionCode:
        """EC2 Image Builder builds ``lambda_image/`` in the account (no Docker needed), and keeps
        the function on each new build of the image pipeline."""
        return cls(FunctionCodeSource.BUILD_IN_ACCOUNT, network=network)

    @classmethod
    def copy_of_image(cls, image_uri: str, *, network: BuildNetwork | None = None) -> FunctionCode:
        """EC2 Image Builder copies an existing image (with a tag or digest) into the account, as
        the official template copies ``public.ecr.aws/parallelcluster/pcluster-api``."""
        return cls(
            FunctionCodeSource.COPY_OF_IMAGE,
            image_uri=forms.CONTAINER_IMAGE_URI.check("image_uri", image_uri),
            network=network,
        )

    @classmethod
    def from_ecr_image_uri(cls, image_uri: str) -> FunctionCode:
        """The function runs this private ECR image (``<account>.dkr.ecr.<region>.<domain>/<repository>:<tag>``
        or ``@sha256:<digest>``); nothing is built."""
        return cls(FunctionCodeSource.ECR_IMAGE, image_uri=forms.ECR_IMAGE_URI.check("image_uri", image_uri))

    @classmethod
    def from_ecr_image(cls, repository: ecr.IRepository, *, tag_or_digest: str) -> FunctionCode:
        """The function runs this image of ``repository``; nothing is built."""
        separator = "@" if tag_or_digest.startswith("sha256:") else ":"
        return cls(FunctionCodeSource.ECR_IMAGE, image_uri=f"{repository.repository_uri}{separator}{tag_or_digest}")

    @classmethod
    def from_local_docker(cls) -> FunctionCode:
        """``cdk deploy`` builds ``lambda_image/`` with the deployer's Docker, as an image asset."""
        return cls(FunctionCodeSource.LOCAL_DOCKER)

    @classmethod
    def official_layer(cls, *, bucket_name: str | None = None) -> FunctionCode:
        """The official ParallelCluster Lambda layer of the version, on python3.12, as AWS's own API
        template runs it since ParallelCluster 3.6: no image and no build.

        :param bucket_name: The bucket that holds the layer under AWS's key
            (``parallelcluster/<version>/layers/aws-parallelcluster/lambda-layer.zip``), as AWS's
            template's ``CustomBucket`` (marked "debug only" there) names one. Default: the
            Region's ``<region>-aws-parallelcluster``.
        """
        if bucket_name is not None:
            forms.S3_BUCKET_NAME.check("bucket_name", bucket_name)
        return cls(FunctionCodeSource.OFFICIAL_LAYER, layer_bucket=bucket_name)


@dataclass(frozen=True)
class FsxS3Access:
    """S3 buckets the function may read, list and write for FSx for Lustre data repositories."""

    bucket_arns: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.bucket_arns != (forms.ALL_BUCKETS,):
            if not self.bucket_arns:
                raise forms.InvalidSettingError("fsx_s3_access", "at least one bucket", "")
            if forms.ALL_BUCKETS in self.bucket_arns:
                raise forms.InvalidSettingError("bucket_arns", "'*' alone or a list of S3 bucket ARNs", ",".join(self.bucket_arns))
            for arn in self.bucket_arns:
                forms.S3_BUCKET_ARN.check("bucket_arns", arn)

    @classmethod
    def all_buckets(cls) -> FsxS3Access:
        """Every bucket (``FsxS3Buckets=*``)."""
        return cls((forms.ALL_BUCKETS,))

    @classmethod
    def buckets(cls, *buckets: s3.IBucket) -> FsxS3Access:
        """These buckets and their objects."""
        return cls(tuple(bucket.bucket_arn for bucket in buckets))

    @classmethod
    def of_bucket_arns(cls, *bucket_arns: str) -> FsxS3Access:
        """The buckets of these ARNs; ``arn:<partition>:s3:::<prefix>*`` names every bucket whose
        name starts with the prefix."""
        return cls(tuple(bucket_arns))


@dataclass(frozen=True)
class FunctionRole:
    """The role the API function runs as: one this construct creates, or one of yours.

    Use :meth:`create` (the default) or :meth:`use`.
    """

    existing: iam.IRole | None = None
    enable_iam_admin_access: bool = False
    fsx_s3_access: FsxS3Access | None = None
    additional_policies: tuple[iam.IManagedPolicy, ...] = ()

    @classmethod
    def create(
        cls,
        *,
        enable_iam_admin_access: bool = False,
        fsx_s3_access: FsxS3Access | None = None,
        additional_policies: Sequence[iam.IManagedPolicy] = (),
    ) -> FunctionRole:
        """A role with the ParallelCluster permissions the release needs.

        :param enable_iam_admin_access: Let the function create the IAM roles and instance
            profiles of clusters and images (under ``parallelcluster/``) and attach only the
            policies ParallelCluster uses. Grants IAM admin privileges to the function.
        :param fsx_s3_access: S3 buckets for FSx for Lustre data repositories.
        :param additional_policies: Further managed policies for the role, e.g. for what your
            clusters' custom actions need.
        """
        return cls(
            enable_iam_admin_access=enable_iam_admin_access,
            fsx_s3_access=fsx_s3_access,
            additional_policies=tuple(additional_policies),
        )

    @classmethod
    def use(cls, role: iam.IRole) -> FunctionRole:
        """Your role (trusted by Lambda): the construct adds no ParallelCluster policy to it."""
        return cls(existing=role)


@dataclass(frozen=True)
class CustomDomain:
    """A regional custom domain of the API, mapped to the ``prod`` stage with TLS 1.2.

    :param domain_name: The API's host name, e.g. ``hpc-api.example.com``.
    :param certificate: ACM certificate of the name, in the stack's Region.
    :param hosted_zone: Route 53 zone that gets the alias record; without it, point your DNS at
        the construct's ``domain_target``.
    """

    domain_name: str
    certificate: acm.ICertificate
    hosted_zone: route53.IHostedZone | None = None

    def __post_init__(self) -> None:
        forms.DOMAIN_NAME.check("domain_name", self.domain_name)


@dataclass(frozen=True)
class ApiEndpoint:
    """How clients reach the API: a regional endpoint (optionally a custom domain) or a private one.

    Use :meth:`regional` (the default) or :meth:`private`.
    """

    custom_domain: CustomDomain | None = None
    vpc_endpoint: ec2.IInterfaceVpcEndpoint | None = None

    @classmethod
    def regional(cls, *, custom_domain: CustomDomain | None = None) -> ApiEndpoint:
        """A regional endpoint, ``https://<api id>.execute-api.<region>.<suffix>/prod``, or the
        custom domain."""
        return cls(custom_domain=custom_domain)

    @classmethod
    def private(cls, vpc_endpoint: ec2.IInterfaceVpcEndpoint) -> ApiEndpoint:
        """A private API, answering only through this ``execute-api`` interface VPC endpoint."""
        return cls(vpc_endpoint=vpc_endpoint)
