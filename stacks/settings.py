"""The app's settings: CDK context keys named like the official template's parameters.

The keys, their parsers and what the README says of them are the rows of ``stacks/options.py``;
``Settings`` has one field per row. ``Settings.from_context`` reads each key once into a typed
field (text, boolean, number, list), refusing unknown keys and contradicting pairs;
``Settings.api_props`` turns the fields into the construct's typed props inside the stack. Every
value is checked once, where it becomes a prop (the construct and its props check their own
values; the ARNs and ids that must become CDK references are checked here, before they do), and
every refusal names the context key: :meth:`Settings.naming_keys` renames the construct's prop
names. Defaults are the construct's own: a key that is not set is not passed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib import audit
from constructs_lib import validation as forms
from constructs_lib.parallelcluster_api.props import (
    AccountRoleMode,
    ApiEndpoint,
    BuildNetwork,
    CustomDomain,
    FsxS3Access,
    FunctionCode,
    FunctionCodeSource,
    FunctionRole,
)
from constructs_lib.validation import InvalidSettingError, UnknownSettingError
from stacks.options import BY_KEY, OPTIONS, Option, boolean, prop_keys

DEFAULT_STACK_NAME = "ParallelClusterApi"


class _Settings:
    """What every settings class has: see :func:`settings_class`."""

    options: tuple[Option, ...] = OPTIONS
    #: The values as the context held them, which refusals show.
    typed: Mapping[str, Any]

    @classmethod
    def keys(cls) -> dict[str, str]:
        """Context key → field name, for every setting."""
        return {option.key: option.field for option in cls.options}

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Any:
        """Parse the CDK context; keys of CDK itself (``@...``, ``aws:...``) are left alone."""
        known = cls.keys()
        for key in context:
            if key in known or key.startswith(("@", "aws:")):
                continue
            guess = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            hint = f"did you mean {guess[0]}?" if guess else f"known settings: {', '.join(known)}"
            raise UnknownSettingError(key, hint)
        values = {option.field: option.parse(option.key, context[option.key]) for option in cls.options if option.key in context}
        typed = {key: context[key] for key in known if key in context}
        settings = cls(**values, typed=typed)
        settings._check_combinations()
        if settings.stack_name is not None:
            forms.STACK_NAME.check("StackName", settings.stack_name)
        for pack in settings.packs:
            if pack not in audit.PACKS:
                raise InvalidSettingError("NagPacks", f"comma-separated cdk-nag packs among {', '.join(audit.PACKS)}", ",".join(settings.packs))
        return settings

    @property
    def name(self) -> str:
        return self.stack_name or DEFAULT_STACK_NAME

    @property
    def packs(self) -> tuple[str, ...]:
        return audit.PACKS if self.nag_packs is None else self.nag_packs

    def _check_combinations(self) -> None:
        """Refuse keys that need a partner or contradict each other: the typed props cannot say them."""
        by_key = {key: getattr(self, name) for key, name in self.keys().items()}
        for combination in COMBINATIONS:
            if combination.when.holds(by_key.get(combination.when.key)) and (
                combination.then.holds(by_key.get(combination.then.key)) is combination.excludes
            ):
                raise InvalidSettingError(combination.then.key, combination.expected, self.typed.get(combination.then.key))

    def refuse_principals_of_other_accounts(self, deploy_account: str | None) -> None:
        """Without AllowCrossAccountPrincipals, refuse a role of another account than the stack's.

        The resource policy denies principals of other accounts then (``aws:PrincipalAccount``), so
        such a role would get 403 only after the deploy. The stack's account is the one the CDK CLI
        deploys to when it is known; when it is not, roles of two accounts cannot both be of it.
        """
        if self.allow_cross_account_principals or not self.allowed_principal_arns:
            return
        accounts = sorted({arn.split(":")[4] for arn in self.allowed_principal_arns if arn.count(":") >= 5})
        foreign = [account for account in accounts if account != deploy_account] if deploy_account else accounts[1:]
        if foreign:
            of = f"the account the stack deploys to, {deploy_account}" if deploy_account else "one account, the stack's"
            raise InvalidSettingError(
                "AllowedPrincipalArns",
                f"roles of {of} (a role of another account, here {foreign[0]}, needs AllowCrossAccountPrincipals=true)",
                self.typed.get("AllowedPrincipalArns"),
            )

    @contextlib.contextmanager
    def naming_keys(self) -> Iterator[None]:
        """Refusals raised inside name the context key of the prop they concern."""
        try:
            yield
        except UnknownSettingError:
            raise
        except InvalidSettingError as error:
            raise error.named(PROP_KEYS.get(error.setting, error.setting)) from None

    def api_props(self, scope: Construct) -> dict[str, Any]:
        """The keyword props of :class:`constructs_lib.ParallelClusterApi`, for what is set.

        References that CDK makes from ARNs and ids are created in ``scope`` (they add no resource).
        """
        props: dict[str, Any] = {
            option.prop: getattr(self, option.field)
            for option in self.options
            if option.prop and getattr(self, option.field) is not None
        }
        if self.api_gateway_account_role is not None:
            props["api_gateway_account_role"] = AccountRoleMode(self.api_gateway_account_role)
        if self.permissions_boundary_policy is not None:
            arn = forms.IAM_POLICY_ARN.check("PermissionsBoundaryPolicy", self.permissions_boundary_policy)
            props["permissions_boundary"] = iam.ManagedPolicy.from_managed_policy_arn(scope, "PermissionsBoundaryPolicy", arn)
        if self.alarm_topic_arn is not None:
            arn = forms.SNS_TOPIC_ARN.check("AlarmTopicArn", self.alarm_topic_arn)
            props["alarm_topic"] = sns.Topic.from_topic_arn(scope, "AlarmTopic", arn)
        if self.logs_kms_key_arn is not None:
            arn = forms.KMS_KEY_ARN.check("LogsKmsKeyArn", self.logs_kms_key_arn)
            props["logs_key"] = kms.Key.from_key_arn(scope, "LogsKmsKey", arn)
        if self.allowed_principal_arns:
            props["allowed_principals"] = [
                iam.Role.from_role_arn(
                    scope, f"AllowedPrincipal{index}", forms.IAM_ROLE_ARN.check("AllowedPrincipalArns", arn), mutable=False
                )
                for index, arn in enumerate(self.allowed_principal_arns)
            ]
        code = self._function_code()
        if code is not None:
            props["function_code"] = code
        role = self._function_role(scope)
        if role is not None:
            props["function_role"] = role
        endpoint = self._endpoint(scope)
        if endpoint is not None:
            props["endpoint"] = endpoint
        return props

    def _function_code(self) -> FunctionCode | None:
        network = None
        if self.image_builder_vpc_id is not None and self.image_builder_subnet_id is not None:
            with _as("ImageBuilderVpcId", "vpc_id"), _as("ImageBuilderSubnetId", "subnet_id"):
                network = BuildNetwork(vpc_id=self.image_builder_vpc_id, subnet_id=self.image_builder_subnet_id)
        if self.ecr_image_uri is not None:
            with _as("EcrImageUri", "image_uri"):
                return FunctionCode.from_ecr_image_uri(self.ecr_image_uri)
        if self.public_ecr_image_uri is not None:
            with _as("PublicEcrImageUri", "image_uri"):
                return FunctionCode.copy_of_image(self.public_ecr_image_uri, network=network)
        source = FunctionCodeSource(self.lambda_image_source) if self.lambda_image_source else None
        if source is FunctionCodeSource.LOCAL_DOCKER:
            return FunctionCode.from_local_docker()
        if source is FunctionCodeSource.OFFICIAL_LAYER:
            with _as("CustomBucket", "bucket_name"):
                return FunctionCode.official_layer(bucket_name=self.custom_bucket)
        if network is not None or source is FunctionCodeSource.BUILD_IN_ACCOUNT:
            return FunctionCode.build_in_account(network=network)
        return None

    def _function_role(self, scope: Construct) -> FunctionRole | None:
        if self.parallelcluster_function_role is not None:
            arn = forms.IAM_ROLE_ARN.check("ParallelClusterFunctionRole", self.parallelcluster_function_role)
            # Immutable: the construct must not add statements to a role it does not own.
            return FunctionRole.use(iam.Role.from_role_arn(scope, "ParallelClusterFunctionRole", arn, mutable=False))
        fsx = None
        if self.enable_fsx_s3_access:
            with _as("FsxS3Buckets", "bucket_arns", "fsx_s3_access"):
                fsx = (
                    FsxS3Access.all_buckets()
                    if self.fsx_s3_buckets == (forms.ALL_BUCKETS,)
                    else FsxS3Access.of_bucket_arns(*(self.fsx_s3_buckets or ()))
                )
        policies = [
            iam.ManagedPolicy.from_managed_policy_arn(
                scope,
                f"ParallelClusterFunctionAdditionalPolicy{index}",
                _policy_arn("ParallelClusterFunctionAdditionalPolicies", arn),
            )
            for index, arn in enumerate(self.parallelcluster_function_additional_policies or ())
        ]
        if not (self.enable_iam_admin_access or fsx or policies):
            return None
        return FunctionRole.create(
            enable_iam_admin_access=bool(self.enable_iam_admin_access), fsx_s3_access=fsx, additional_policies=policies
        )

    def _endpoint(self, scope: Construct) -> ApiEndpoint | None:
        if self.vpc_endpoint_id is not None:
            endpoint_id = forms.VPC_ENDPOINT_ID.check("VpcEndpointId", self.vpc_endpoint_id)
            return ApiEndpoint.private(
                ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
                    scope, "VpcEndpoint", vpc_endpoint_id=endpoint_id, port=443
                )
            )
        if self.custom_domain_name is None or self.custom_domain_certificate is None:
            return None
        certificate_arn = forms.ACM_CERTIFICATE_ARN.check("CustomDomainCertificate", self.custom_domain_certificate)
        zone = None
        if self.custom_domain_hosted_zone_id is not None:
            zone_id = forms.HOSTED_ZONE_ID.check("CustomDomainHostedZoneId", self.custom_domain_hosted_zone_id)
            zone = route53.HostedZone.from_hosted_zone_id(scope, "CustomDomainHostedZone", zone_id)
        with _as("CustomDomainName", "domain_name"):
            domain = CustomDomain(
                domain_name=self.custom_domain_name,
                certificate=acm.Certificate.from_certificate_arn(scope, "CustomDomainCertificate", certificate_arn),
                hosted_zone=zone,
            )
        return ApiEndpoint.regional(custom_domain=domain)


def _policy_arn(key: str, arn: str) -> str:
    expected = "comma-separated IAM managed policy ARNs, arn:<partition>:iam::<account id or aws>:policy/<name>"
    if not forms.IAM_POLICY_ARN.matches(arn):
        raise InvalidSettingError(key, expected, arn)
    return arn


@contextlib.contextmanager
def _as(key: str, *names: str) -> Iterator[None]:
    """A refusal of one of ``names`` (a prop's own argument names) names the context key instead."""
    try:
        yield
    except InvalidSettingError as error:
        if error.setting in names:
            raise error.named(key) from None
        raise


@dataclass(frozen=True)
class Given:
    """A setting that is set (any value but nothing or false), or set to ``value``."""

    key: str
    value: str | None = None

    def holds(self, setting: Any) -> bool:
        if self.value is not None:
            return bool(setting == self.value)
        return setting not in (None, "", (), False)

    def __str__(self) -> str:
        return f"{self.key} is {self.value}" if self.value is not None else f"{self.key} is set"


@dataclass(frozen=True)
class Combination:
    """When ``when`` holds, ``then`` must hold too, or (``excludes``) must not; ``why`` says why not."""

    when: Given
    then: Given
    excludes: bool = False
    why: str = ""

    @property
    def expected(self) -> str:
        """What the refused key should be, as the refusal says it."""
        if self.excludes:
            return f"no value when {self.when}" + (f" ({self.why})" if self.why else "")
        wanted = self.then.value or ("true" if BY_KEY[self.then.key].parse is boolean else "a value")
        return f"{wanted} when {self.when}"


def _needs(key: str, partner: str) -> Combination:
    return Combination(Given(key), Given(partner))


def _excludes(when: Given, key: str, why: str) -> Combination:
    return Combination(when, Given(key), excludes=True, why=why)


_NOTHING_BUILT = "the function runs that image, so nothing is built"
_LOCAL_DOCKER = "the image is built with local Docker"
_LAYER = "the function runs the official layer"
_NOT_OWNED = "the stack creates no ParallelCluster policy for a role it does not own"
_CUSTOM_BUCKET = "CustomBucket is where the official layer comes from"
# Settings that need a partner or contradict each other; the portable template turns those of its
# parameters into CloudFormation rules, with the same words.
COMBINATIONS = (
    _needs("CustomDomainName", "CustomDomainCertificate"),
    _needs("CustomDomainCertificate", "CustomDomainName"),
    _needs("CustomDomainHostedZoneId", "CustomDomainName"),
    _needs("EnableFSxS3Access", "FsxS3Buckets"),
    _needs("FsxS3Buckets", "EnableFSxS3Access"),
    _needs("ImageBuilderVpcId", "ImageBuilderSubnetId"),
    _needs("ImageBuilderSubnetId", "ImageBuilderVpcId"),
    _needs("AllowCrossAccountPrincipals", "AllowedPrincipalArns"),
    # AWS's template reads CustomBucket for its layer alone.
    *(_excludes(Given("CustomBucket"), key, _CUSTOM_BUCKET) for key in ("EcrImageUri", "PublicEcrImageUri")),
    Combination(Given("CustomBucket"), Given("LambdaImageSource", "layer")),
    _excludes(
        Given("VpcEndpointId"),
        "CustomDomainName",
        "a private API is reached through its VPC endpoint; a regional custom domain cannot map it",
    ),
    *(
        _excludes(Given("EcrImageUri"), key, _NOTHING_BUILT)
        for key in ("PublicEcrImageUri", "ImageBuilderVpcId", "ImageBuilderSubnetId")
    ),
    *(
        _excludes(Given("LambdaImageSource", source), key, why)
        for source, why in (("asset", _LOCAL_DOCKER), ("layer", _LAYER))
        for key in ("EcrImageUri", "PublicEcrImageUri", "ImageBuilderVpcId", "ImageBuilderSubnetId")
    ),
    *(
        _excludes(Given("ParallelClusterFunctionRole"), key, _NOT_OWNED)
        for key in ("EnableIamAdminAccess", "EnableFSxS3Access", "ParallelClusterFunctionAdditionalPolicies")
    ),
)


def settings_class(options: Sequence[Option]) -> type:
    """The frozen dataclass of settings with one field per option (``None``: not set)."""
    fields_of_options = [(option.field, Any, field(default=None)) for option in options]
    typed = ("typed", Mapping[str, Any], field(default_factory=dict, compare=False, repr=False))
    return dataclasses.make_dataclass(
        "Settings", [*fields_of_options, typed], bases=(_Settings,), frozen=True, namespace={"options": tuple(options)}
    )


#: The settings the app's CDK context sets (``Settings.from_context``), a field per :data:`OPTIONS` row.
Settings = settings_class(OPTIONS)
# The construct's prop names (and props' argument names) → the context keys the user wrote.
PROP_KEYS = prop_keys(OPTIONS)
