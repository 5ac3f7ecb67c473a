"""The forms of the values the ParallelCluster API accepts, each with how to describe it.

A value is checked once, where it becomes a prop: by the construct and its props for the values
they take as text, by the app's settings for the ARNs and ids they turn into CDK references. Each
form names what it expects, so that a refusal can say in one line what to write instead.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from aws_cdk import Token
from aws_cdk.region_info import RegionInfo

from constructs_lib.versions import OLDER_RELEASES_NOT_SERVED, SUPPORTED_PARALLELCLUSTER_VERSIONS, older_than_served

ALL_REGIONS = "*"
ALL_BUCKETS = "*"
MAX_IAM_PREFIX_LENGTH = 10


class InvalidSettingError(ValueError):
    """A value that does not have the documented form. The message names the setting."""

    def __init__(self, name: str, expected: str, value: object) -> None:
        got = "nothing" if value in (None, "", ()) else repr(value)
        super().__init__(f"{name}: expected {expected}; got {got}")
        self.setting = name
        self.expected = expected
        self.value = value

    def named(self, name: str) -> InvalidSettingError:
        """The same refusal, naming the setting as the user wrote it (e.g. a CDK context key)."""
        return InvalidSettingError(name, self.expected, self.value)


class UnknownSettingError(InvalidSettingError):
    """A setting name that is not one of ours (a typo must not silently deploy the default)."""

    def __init__(self, name: str, hint: str) -> None:
        ValueError.__init__(self, f"{name}: unknown setting; {hint}")
        self.setting = name
        self.expected = hint
        self.value = None


@dataclass(frozen=True)
class ValueForm:
    """A documented value form: the pattern a whole value must match and how to describe it.

    (A form, not a rule: "rule" here means a cdk-nag rule, and a template's ``Rules`` section.)
    """

    pattern: str
    expected: str

    def matches(self, value: str) -> bool:
        """Whether ``value`` has this form (tokens always do: they resolve at deploy time).

        ASCII only: AWS names and ids are ASCII, so ``\\d`` and ``\\w`` must not match other
        scripts' digits and letters (a full-width digit is not a version number).
        """
        if Token.is_unresolved(value):
            return True
        return isinstance(value, str) and re.fullmatch(self.pattern, value, flags=re.ASCII) is not None

    def check(self, name: str, value: str) -> str:
        """Return ``value`` when it matches; raise :class:`InvalidSettingError` otherwise.

        Unresolved CDK tokens (for example ``role.role_arn``) are accepted as they are: their
        value only exists at deploy time.
        """
        if not self.matches(value):
            raise InvalidSettingError(name, self.expected, value)
        return value


_PARTITION = r"aws(?:-cn|-us-gov|-iso|-iso-[a-z]|-eusc)?"
_ACCOUNT = r"\d{12}"
# IAM names and paths: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
_IAM_NAME = r"[\w+=,.@-]+"
# Bucket names: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_BUCKET = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
_IMAGE_TAG_OR_DIGEST = r"(?::\w[\w.-]{0,127}|@sha256:[0-9a-f]{64})"

VERSION = ValueForm(
    "|".join(re.escape(version) for version in SUPPORTED_PARALLELCLUSTER_VERSIONS),
    f"a ParallelCluster version this project serves (its permissions and image checked): "
    f"{', '.join(SUPPORTED_PARALLELCLUSTER_VERSIONS)}",
)
RESERVED_CONCURRENCY = ValueForm(r"[1-9][0-9]*", "a positive whole number")
IAM_ROLE_ARN = ValueForm(
    rf"arn:{_PARTITION}:iam::{_ACCOUNT}:role/(?:{_IAM_NAME}/)*{_IAM_NAME}",
    "an IAM role ARN, arn:<partition>:iam::<account id>:role/<name>",
)
IAM_POLICY_ARN = ValueForm(
    rf"arn:{_PARTITION}:iam::(?:{_ACCOUNT}|aws):policy/(?:{_IAM_NAME}/)*{_IAM_NAME}",
    "an IAM managed policy ARN, arn:<partition>:iam::<account id>:policy/<name>",
)
ACM_CERTIFICATE_ARN = ValueForm(
    rf"arn:{_PARTITION}:acm:[a-z0-9-]+:{_ACCOUNT}:certificate/[\w-]+",
    "an ACM certificate ARN, arn:<partition>:acm:<region>:<account id>:certificate/<id>",
)
HOSTED_ZONE_ID = ValueForm(r"Z[A-Z0-9]{1,31}", "a Route 53 hosted zone id, e.g. Z0123456789ABCDEFGHIJ")
VPC_ENDPOINT_ID = ValueForm(r"vpce-[0-9a-f]{8,17}", "a VPC endpoint id, vpce- and 8 or 17 hex digits")
VPC_ID = ValueForm(r"vpc-[0-9a-f]{8,17}", "a VPC id, vpc- and 8 or 17 hex digits")
SUBNET_ID = ValueForm(r"subnet-[0-9a-f]{8,17}", "a subnet id, subnet- and 8 or 17 hex digits")
DOMAIN_NAME = ValueForm(
    r"(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    "a lower-case DNS name, e.g. api.example.com",
)
S3_URI = ValueForm(rf"s3://{_BUCKET}/\S+", "an S3 URI, s3://<bucket>/<key>")
S3_BUCKET_NAME = ValueForm(_BUCKET, "an S3 bucket name, e.g. my-parallelcluster-artifacts")
# A bucket, or the buckets whose names start with a prefix (one trailing *).
S3_BUCKET_ARN = ValueForm(
    rf"arn:{_PARTITION}:s3:::(?:{_BUCKET}|[a-z0-9][a-z0-9.-]{{1,61}}\*)",
    "an S3 bucket ARN, arn:<partition>:s3:::<bucket> (or <name prefix>* for the buckets it starts)",
)
IAM_PREFIX = ValueForm(
    rf"[\w+=,.@-]{{0,{MAX_IAM_PREFIX_LENGTH}}}",
    f"at most {MAX_IAM_PREFIX_LENGTH} characters among letters, digits and + = , . @ _ -",
)
ECR_IMAGE_URI = ValueForm(
    rf"{_ACCOUNT}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/[a-z0-9][a-z0-9._/-]*{_IMAGE_TAG_OR_DIGEST}",
    "a private ECR image URI, <account id>.dkr.ecr.<region>.<domain>/<repository>:<tag> or @sha256:<digest>",
)
# At most 119 characters: the copy recipe is named after the image, with the stack's suffix, and a
# recipe name has at most 128 (constructs_lib/api_image/dockerfile.py).
CONTAINER_IMAGE_URI = ValueForm(
    rf"(?=.{{1,119}}$)[a-z0-9.-]+(?::\d+)?(?:/[a-z0-9._-]+)+{_IMAGE_TAG_OR_DIGEST}",
    "a container image URI with a tag or digest, at most 119 characters, e.g. public.ecr.aws/parallelcluster/pcluster-api:3.5.1",
)
STACK_NAME = ValueForm(
    r"[A-Za-z][A-Za-z0-9-]{0,127}",
    "a CloudFormation stack name: a letter, then letters, digits and hyphens, at most 128 characters",
)
WEB_ACL_ARN = ValueForm(
    rf"arn:{_PARTITION}:wafv2:[a-z0-9-]+:{_ACCOUNT}:regional/webacl/[\w-]+/[0-9a-f-]+",
    "a regional AWS WAF web ACL ARN, arn:<partition>:wafv2:<region>:<account id>:regional/webacl/<name>/<id>",
)
# Topic names: letters, digits, hyphens and underscores, up to 256 (a FIFO topic's ends in .fifo).
SNS_TOPIC_ARN = ValueForm(
    rf"arn:{_PARTITION}:sns:[a-z0-9-]+:{_ACCOUNT}:[A-Za-z0-9_-]{{1,256}}(?:\.fifo)?",
    "an SNS topic ARN, arn:<partition>:sns:<region>:<account id>:<topic name>",
)
KMS_KEY_ARN = ValueForm(
    rf"arn:{_PARTITION}:kms:[a-z0-9-]+:{_ACCOUNT}:key/[0-9a-f-]+",
    "a KMS key ARN, arn:<partition>:kms:<region>:<account id>:key/<key id>",
)


def check_version(name: str, value: str) -> str:
    """A served ParallelCluster version; the refusal of an older one says why it is not served."""
    if VERSION.matches(value):
        return value
    expected = VERSION.expected
    if isinstance(value, str) and older_than_served(value):
        expected = f"{expected}; {OLDER_RELEASES_NOT_SERVED}"
    raise InvalidSettingError(name, expected, value)


@functools.cache
def _region_names() -> frozenset[str]:
    # Read from CDK's region facts only when a Region is named: it takes a call per Region.
    return frozenset(region.name for region in RegionInfo.regions)


def check_region(name: str, value: str) -> str:
    """``*`` (every Region) or the name of one Region that CDK knows."""
    if value == ALL_REGIONS or Token.is_unresolved(value) or value in _region_names():
        return value
    raise InvalidSettingError(name, "'*' or a Region name such as eu-west-1", value)
