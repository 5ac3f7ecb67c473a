"""The app's settings: CDK context keys named like the official template's parameters.

``Settings.from_context`` reads every key once, checks it with the construct's own rules and
returns one typed object whose fields are the construct's keyword props. Defaults live in
``cdk.json``; ``cdk synth -c Key=Value`` overrides them. Anything wrong raises
:class:`InvalidSettingError` with a one-line message that names the key and the expected form.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping, Optional

from constructs_lib import audit
from constructs_lib import validation as rules
from constructs_lib.validation import InvalidSettingError, UnknownSettingError

DEFAULT_STACK_NAME = "ParallelClusterApi"


def _text(rule: Optional[rules.Rule] = None) -> Callable[[str, Any], Optional[str]]:
    """An optional text setting: empty means "not set"."""

    def parse(key: str, raw: Any) -> Optional[str]:
        if not isinstance(raw, str):
            raise InvalidSettingError(key, rule.expected if rule else "a string", raw)
        if raw == "":
            return None
        return rule.check(key, raw) if rule else raw

    return parse


def _required(rule: rules.Rule) -> Callable[[str, Any], str]:
    def parse(key: str, raw: Any) -> str:
        return rule.check(key, raw if isinstance(raw, str) else repr(raw))

    return parse


def _boolean(key: str, raw: Any) -> bool:
    # cdk.json may hold JSON booleans; `-c Key=value` always gives text. Identity, not equality:
    # 1 == True in Python, and a JSON number is not a boolean.
    if raw is True or raw == "true":
        return True
    if raw is False or raw == "false":
        return False
    raise InvalidSettingError(key, "true or false", raw)


def _region(key: str, raw: Any) -> str:
    return rules.check_region(key, raw if isinstance(raw, str) else repr(raw))


def _role_list(key: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, str):
        raise InvalidSettingError(key, "comma-separated IAM role ARNs", raw)
    arns = tuple(item.strip() for item in raw.split(",")) if raw else ()
    return tuple(rules.IAM_ROLE_ARN.check(key, arn) for arn in arns)


def _policy_list(key: str, raw: Any) -> tuple[str, ...]:
    expected = "comma-separated IAM managed policy ARNs, arn:<partition>:iam::<account id or aws>:policy/<name>"
    if not isinstance(raw, str):
        raise InvalidSettingError(key, expected, raw)
    arns = tuple(item.strip() for item in raw.split(",")) if raw else ()
    for arn in arns:
        if not rules.IAM_POLICY_ARN.matches(arn):
            raise InvalidSettingError(key, expected, arn)
    return arns


def _positive_integer(key: str, raw: Any) -> Optional[int]:
    if raw == "" or raw is None:
        return None
    # ASCII digits only (str.isdigit() takes superscripts, which int() refuses); a JSON boolean
    # is not a number.
    text = raw if isinstance(raw, str) else str(raw) if type(raw) is int else ""
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise InvalidSettingError(key, "a positive whole number, or nothing for no reservation", raw)
    return int(text)


def _pack_list(key: str, raw: Any) -> tuple[str, ...]:
    packs = tuple(item.strip() for item in raw.split(",")) if isinstance(raw, str) and raw else ()
    if not isinstance(raw, str) or any(pack not in audit.PACKS for pack in packs):
        raise InvalidSettingError(key, f"comma-separated cdk-nag packs among {', '.join(audit.PACKS)}", raw)
    return packs


def _bucket_list(key: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, str):
        raise InvalidSettingError(key, "comma-separated S3 bucket ARNs, or '*'", raw)
    buckets = tuple(item.strip() for item in raw.split(",")) if raw else ()
    return rules.check_bucket_arns(key, buckets)


@dataclass(frozen=True)
class Settings:
    """Every setting of the app, validated. Field metadata: the context key and its parser."""

    stack_name: str = field(
        default=DEFAULT_STACK_NAME,
        metadata={"key": "StackName", "parse": _required(rules.STACK_NAME), "app_only": True},
    )
    parallelcluster_version: str = field(
        default=rules.DEFAULT_PARALLELCLUSTER_VERSION,
        metadata={"key": "ParallelClusterVersion", "parse": _required(rules.VERSION)},
    )
    region: str = field(default=rules.ALL_REGIONS, metadata={"key": "Region", "parse": _region})
    parallelcluster_function_role: Optional[str] = field(
        default=None,
        metadata={"key": "ParallelClusterFunctionRole", "parse": _text(rules.IAM_ROLE_ARN)},
    )
    parallelcluster_function_additional_policies: tuple[str, ...] = field(
        default=(), metadata={"key": "ParallelClusterFunctionAdditionalPolicies", "parse": _policy_list}
    )
    api_definition_s3_uri: Optional[str] = field(
        default=None, metadata={"key": "ApiDefinitionS3Uri", "parse": _text(rules.S3_URI)}
    )
    custom_domain_name: Optional[str] = field(
        default=None, metadata={"key": "CustomDomainName", "parse": _text(rules.DOMAIN_NAME)}
    )
    custom_domain_certificate: Optional[str] = field(
        default=None,
        metadata={"key": "CustomDomainCertificate", "parse": _text(rules.ACM_CERTIFICATE_ARN)},
    )
    custom_domain_hosted_zone_id: Optional[str] = field(
        default=None,
        metadata={"key": "CustomDomainHostedZoneId", "parse": _text(rules.HOSTED_ZONE_ID)},
    )
    vpc_endpoint_id: Optional[str] = field(
        default=None, metadata={"key": "VpcEndpointId", "parse": _text(rules.VPC_ENDPOINT_ID)}
    )
    enable_iam_admin_access: bool = field(
        default=False, metadata={"key": "EnableIamAdminAccess", "parse": _boolean}
    )
    enable_fsx_s3_access: bool = field(
        default=False, metadata={"key": "EnableFSxS3Access", "parse": _boolean}
    )
    fsx_s3_buckets: tuple[str, ...] = field(
        default=(), metadata={"key": "FsxS3Buckets", "parse": _bucket_list}
    )
    permissions_boundary_policy: Optional[str] = field(
        default=None,
        metadata={"key": "PermissionsBoundaryPolicy", "parse": _text(rules.IAM_POLICY_ARN)},
    )
    create_api_user_role: bool = field(
        default=True, metadata={"key": "CreateApiUserRole", "parse": _boolean}
    )
    iam_role_and_policy_prefix: str = field(
        default="",
        metadata={"key": "IAMRoleAndPolicyPrefix", "parse": lambda k, v: _text(rules.IAM_PREFIX)(k, v) or ""},
    )
    ecr_image_uri: Optional[str] = field(
        default=None, metadata={"key": "EcrImageUri", "parse": _text(rules.ECR_IMAGE_URI)}
    )
    public_ecr_image_uri: Optional[str] = field(
        default=None,
        metadata={"key": "PublicEcrImageUri", "parse": _text(rules.CONTAINER_IMAGE_URI)},
    )
    image_builder_vpc_id: Optional[str] = field(
        default=None, metadata={"key": "ImageBuilderVpcId", "parse": _text(rules.VPC_ID)}
    )
    image_builder_subnet_id: Optional[str] = field(
        default=None, metadata={"key": "ImageBuilderSubnetId", "parse": _text(rules.SUBNET_ID)}
    )
    lambda_image_source: str = field(
        default=rules.IMAGE_BUILDER,
        metadata={"key": "LambdaImageSource", "parse": _required(rules.LAMBDA_IMAGE_SOURCE)},
    )
    allowed_principal_arns: tuple[str, ...] = field(
        default=(), metadata={"key": "AllowedPrincipalArns", "parse": _role_list}
    )
    api_gateway_account_role: str = field(
        default=rules.ENSURE,
        metadata={"key": "ApiGatewayAccountRole", "parse": _required(rules.ACCOUNT_ROLE)},
    )
    web_acl_arn: Optional[str] = field(
        default=None, metadata={"key": "WebAclArn", "parse": _text(rules.WEB_ACL_ARN)}
    )
    logs_kms_key: Optional[str] = field(
        default=None, metadata={"key": "LogsKmsKeyArn", "parse": _text(rules.KMS_KEY_ARN)}
    )
    reserved_concurrent_executions: Optional[int] = field(
        default=None, metadata={"key": "ReservedConcurrency", "parse": _positive_integer}
    )
    nag_packs: tuple[str, ...] = field(
        default=audit.PACKS, metadata={"key": "NagPacks", "parse": _pack_list, "app_only": True}
    )

    @classmethod
    def keys(cls) -> dict[str, str]:
        """Context key → field name, for every setting."""
        return {f.metadata["key"]: f.name for f in fields(cls)}

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> "Settings":
        """Parse the CDK context; keys of CDK itself (``@...``, ``aws:...``) are left alone."""
        known = cls.keys()
        for key in context:
            if key in known or key.startswith(("@", "aws:")):
                continue
            guess = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            hint = f"did you mean {guess[0]}?" if guess else f"known settings: {', '.join(known)}"
            raise UnknownSettingError(key, hint)
        values = {}
        for f in fields(cls):
            key = f.metadata["key"]
            if key in context:
                values[f.name] = f.metadata["parse"](key, context[key])
        settings = cls(**values)
        key_of = {name: key for key, name in known.items()}
        rules.check_combinations(settings.construct_props(), display=lambda name: key_of[name])
        return settings

    def construct_props(self) -> dict[str, Any]:
        """The keyword props of :class:`constructs_lib.ParallelClusterApi`."""
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.metadata.get("app_only")}
