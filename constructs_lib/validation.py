"""One set of rules for the values the ParallelCluster API accepts.

The construct checks its props with these rules and the app checks its CDK context settings with
the same ones, so a value is refused the same way whichever door it comes through. Each rule names
the expected form, so that a refusal can say in one line what to write instead.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from aws_cdk import Token
from aws_cdk.region_info import RegionInfo

from constructs_lib.api_image import locks

DEFAULT_PARALLELCLUSTER_VERSION = "3.16.1"
ALL_REGIONS = "*"
ALL_BUCKETS = "*"
MAX_IAM_PREFIX_LENGTH = 10


class InvalidSettingError(ValueError):
    """A value that does not have the documented form. The message names the setting."""

    def __init__(self, name: str, expected: str, value: object) -> None:
        got = "nothing" if value in (None, "", ()) else repr(value)
        super().__init__(f"{name}: expected {expected}; got {got}")
        self.setting = name


class UnknownSettingError(InvalidSettingError):
    """A setting name that is not one of ours (a typo must not silently deploy the default)."""

    def __init__(self, name: str, hint: str) -> None:
        ValueError.__init__(self, f"{name}: unknown setting; {hint}")
        self.setting = name


@dataclass(frozen=True)
class Rule:
    """A documented value form: the pattern a whole value must match and how to describe it."""

    pattern: str
    expected: str

    def check(self, name: str, value: str) -> str:
        """Return ``value`` when it matches; raise :class:`InvalidSettingError` otherwise.

        Unresolved CDK tokens (for example ``role.role_arn``) are accepted as they are: their
        value only exists at deploy time.
        """
        if Token.is_unresolved(value):
            return value
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            raise InvalidSettingError(name, self.expected, value)
        return value


_PARTITION = r"aws(?:-cn|-us-gov|-iso|-iso-[a-z]|-eusc)?"
_ACCOUNT = r"\d{12}"
# IAM names and paths: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
_IAM_NAME = r"[\w+=,.@-]+"
# Bucket names: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_BUCKET = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
_IMAGE_TAG_OR_DIGEST = r"(?::\w[\w.-]{0,127}|@sha256:[0-9a-f]{64})"

VERSION = Rule(r"\d+\.\d+\.\d+", "a ParallelCluster version X.Y.Z, e.g. 3.16.1")
IAM_ROLE_ARN = Rule(
    rf"arn:{_PARTITION}:iam::{_ACCOUNT}:role/(?:{_IAM_NAME}/)*{_IAM_NAME}",
    "an IAM role ARN, arn:<partition>:iam::<account id>:role/<name>",
)
IAM_POLICY_ARN = Rule(
    rf"arn:{_PARTITION}:iam::(?:{_ACCOUNT}|aws):policy/(?:{_IAM_NAME}/)*{_IAM_NAME}",
    "an IAM managed policy ARN, arn:<partition>:iam::<account id>:policy/<name>",
)
ACM_CERTIFICATE_ARN = Rule(
    rf"arn:{_PARTITION}:acm:[a-z0-9-]+:{_ACCOUNT}:certificate/[\w-]+",
    "an ACM certificate ARN, arn:<partition>:acm:<region>:<account id>:certificate/<id>",
)
HOSTED_ZONE_ID = Rule(r"Z[A-Z0-9]{1,31}", "a Route 53 hosted zone id, e.g. Z0123456789ABCDEFGHIJ")
VPC_ENDPOINT_ID = Rule(r"vpce-[0-9a-f]{8,17}", "a VPC endpoint id, vpce- and 8 or 17 hex digits")
VPC_ID = Rule(r"vpc-[0-9a-f]{8,17}", "a VPC id, vpc- and 8 or 17 hex digits")
SUBNET_ID = Rule(r"subnet-[0-9a-f]{8,17}", "a subnet id, subnet- and 8 or 17 hex digits")
DOMAIN_NAME = Rule(
    r"(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    "a lower-case DNS name, e.g. api.example.com",
)
S3_URI = Rule(rf"s3://{_BUCKET}/\S+", "an S3 URI, s3://<bucket>/<key>")
S3_BUCKET_ARN = Rule(
    rf"arn:{_PARTITION}:s3:::[a-z0-9*][a-z0-9.*-]{{1,62}}",
    "an S3 bucket ARN, arn:<partition>:s3:::<bucket>",
)
IAM_PREFIX = Rule(
    rf"[\w+=,.@-]{{0,{MAX_IAM_PREFIX_LENGTH}}}",
    f"at most {MAX_IAM_PREFIX_LENGTH} characters among letters, digits and + = , . @ _ -",
)
ECR_IMAGE_URI = Rule(
    rf"{_ACCOUNT}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/[a-z0-9][a-z0-9._/-]*{_IMAGE_TAG_OR_DIGEST}",
    "a private ECR image URI, <account id>.dkr.ecr.<region>.<domain>/<repository>:<tag> or @sha256:<digest>",
)
CONTAINER_IMAGE_URI = Rule(
    rf"[a-z0-9.-]+(?::\d+)?(?:/[a-z0-9._-]+)+{_IMAGE_TAG_OR_DIGEST}",
    "a container image URI with a tag or digest, e.g. public.ecr.aws/parallelcluster/pcluster-api:3.5.1",
)
STACK_NAME = Rule(
    r"[A-Za-z][A-Za-z0-9-]{0,127}",
    "a CloudFormation stack name: a letter, then letters, digits and hyphens, at most 128 characters",
)
IMAGE_BUILDER = "imagebuilder"
ASSET = "asset"
LAMBDA_IMAGE_SOURCE = Rule(f"{IMAGE_BUILDER}|{ASSET}", f"{IMAGE_BUILDER} (build in the account) or {ASSET} (build with local Docker)")
ENSURE = "ensure"
EXISTING = "existing"
NONE = "none"
ACCOUNT_ROLE = Rule(
    f"{ENSURE}|{EXISTING}|{NONE}",
    f"{ENSURE} (keep the account's role, else set one), {EXISTING} (managed elsewhere) or {NONE} (no API logging)",
)
WEB_ACL_ARN = Rule(
    rf"arn:{_PARTITION}:wafv2:[a-z0-9-]+:{_ACCOUNT}:regional/webacl/[\w-]+/[0-9a-f-]+",
    "a regional AWS WAF web ACL ARN, arn:<partition>:wafv2:<region>:<account id>:regional/webacl/<name>/<id>",
)
KMS_KEY_ARN = Rule(
    rf"arn:{_PARTITION}:kms:[a-z0-9-]+:{_ACCOUNT}:key/[0-9a-f-]+",
    "a KMS key ARN, arn:<partition>:kms:<region>:<account id>:key/<key id>",
)
@functools.cache
def _region_names() -> frozenset[str]:
    # Read from CDK's region facts only when a Region is named: it takes a call per Region.
    return frozenset(region.name for region in RegionInfo.regions)


def check_region(name: str, value: str) -> str:
    """``*`` (every Region) or the name of one Region that CDK knows."""
    if value == ALL_REGIONS or Token.is_unresolved(value) or value in _region_names():
        return value
    raise InvalidSettingError(name, "'*' or a Region name such as eu-west-1", value)


def check_optional(name: str, value: Optional[str], rule: Rule) -> Optional[str]:
    """Like :meth:`Rule.check`, for a value that may be left out (``None``)."""
    return None if value is None else rule.check(name, value)


def check_bucket_arns(name: str, buckets: tuple[str, ...]) -> tuple[str, ...]:
    """``("*",)`` for every bucket, or S3 bucket ARNs without duplicates."""
    if buckets == (ALL_BUCKETS,):
        return buckets
    for bucket in buckets:
        if bucket == ALL_BUCKETS:
            raise InvalidSettingError(name, "'*' alone or a list of S3 bucket ARNs", ",".join(buckets))
        S3_BUCKET_ARN.check(name, bucket)
    return buckets


def check_combinations(props: Mapping[str, Any], display: Callable[[str], str] = str) -> None:
    """Refuse settings that need a partner or contradict each other.

    ``props`` are the construct's keyword props; ``display`` turns a prop name into the name the
    user wrote (the app passes the CDK context key).
    """

    def given(name: str) -> bool:
        return props.get(name) not in (None, "", (), [], False)

    def refuse(name: str, expected: str) -> None:
        raise InvalidSettingError(display(name), expected, props.get(name))

    def needs(name: str, partner: str) -> None:
        if given(name) and not given(partner):
            wanted = "true" if isinstance(props.get(partner), bool) else "a value"
            refuse(partner, f"{wanted} when {display(name)} is set")

    def excludes(name: str, other: str, why: str) -> None:
        if given(name) and given(other):
            refuse(other, f"no value when {display(name)} is set ({why})")

    needs("custom_domain_name", "custom_domain_certificate")
    needs("custom_domain_certificate", "custom_domain_name")
    needs("custom_domain_hosted_zone_id", "custom_domain_name")
    needs("enable_fsx_s3_access", "fsx_s3_buckets")
    needs("fsx_s3_buckets", "enable_fsx_s3_access")
    needs("image_builder_vpc_id", "image_builder_subnet_id")
    needs("image_builder_subnet_id", "image_builder_vpc_id")
    excludes(
        "vpc_endpoint_id",
        "custom_domain_name",
        "a private API is reached through its VPC endpoint; a regional custom domain cannot map it",
    )
    for option in ("public_ecr_image_uri", "image_builder_vpc_id", "image_builder_subnet_id"):
        excludes("ecr_image_uri", option, "the function runs that image, so nothing is built")
    if not given("ecr_image_uri") and not given("public_ecr_image_uri"):
        # The function's image is built from lambda_image/, which needs the version's lock.
        version = props["parallelcluster_version"]
        if version not in locks.locked_versions():
            refuse(
                "parallelcluster_version",
                f"a version whose image environment is locked ({', '.join(locks.locked_versions()) or 'none yet'}; "
                f"lock one with 'make lock VERSION={version}'), or {display('ecr_image_uri')} or "
                f"{display('public_ecr_image_uri')} to run an image built elsewhere",
            )
    if props.get("lambda_image_source") == ASSET:
        for option in ("ecr_image_uri", "public_ecr_image_uri", "image_builder_vpc_id", "image_builder_subnet_id"):
            excludes("lambda_image_source", option, "the image is built with local Docker")
    for option in ("enable_iam_admin_access", "enable_fsx_s3_access"):
        excludes(
            "parallelcluster_function_role",
            option,
            "the stack creates no ParallelCluster policy for a role it does not own",
        )
