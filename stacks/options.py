"""The options of the app and of the portable template: one row per option, the one place that says it.

Each :class:`Option` holds everything about one setting: its CDK context key (the official template's
parameter name where there is one), the settings field it fills, how its text is parsed, the
construct props whose refusals name it, what the README says of it, and its parameter of the
portable template (description, default, constraints, console group) or why it has none. From the
rows derive: the settings (``stacks/settings.py``), the prop → key mapping of refusals, the
template's parameters and their groups (``stacks/portable_template.py``), and the README's
configuration table (``tests/stacks/test_options.py`` checks it).

An empty value means "not set" for every option: the construct's default (the README says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from constructs_lib import validation as forms
from constructs_lib.parallelcluster_api.props import AccountRoleMode
from constructs_lib.parallelcluster_api.rest_api import official_api_definition_s3_uri
from constructs_lib.validation import InvalidSettingError
from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION, SUPPORTED_PARALLELCLUSTER_VERSIONS

#: How an option's text (or cdk.json value) becomes its value; ``None`` when empty (not set).
Parser = Callable[[str, Any], Any]


def text(key: str, raw: Any) -> str | None:
    """An optional text setting."""
    if not isinstance(raw, str):
        raise InvalidSettingError(key, "a string", raw)
    return raw or None


def boolean(key: str, raw: Any) -> bool | None:
    # cdk.json may hold JSON booleans; `-c Key=value` always gives text. Identity, not equality:
    # 1 == True in Python, and a JSON number is not a boolean.
    if raw is True or raw == "true":
        return True
    if raw is False or raw == "false":
        return False
    if raw == "":
        return None
    raise InvalidSettingError(key, "true or false", raw)


_NO_RESERVATION = f"{forms.RESERVED_CONCURRENCY.expected}, or nothing for no reservation"


def reserved_concurrency(key: str, raw: Any) -> int | None:
    if raw == "" or raw is None:
        return None
    # A JSON boolean is not a number (and the form is ASCII digits only: no superscripts).
    as_text = raw if isinstance(raw, str) else str(raw) if type(raw) is int else ""
    if not forms.RESERVED_CONCURRENCY.matches(as_text):
        raise InvalidSettingError(key, _NO_RESERVATION, raw)
    return int(as_text)


def comma_separated(key: str, raw: Any) -> tuple[str, ...] | None:
    """A comma-separated list."""
    if not isinstance(raw, str):
        raise InvalidSettingError(key, "a comma-separated list", raw)
    return tuple(item.strip() for item in raw.split(",")) if raw else None


def choice(*values: str, expected: str) -> Parser:
    def parse(key: str, raw: Any) -> str | None:
        if raw == "":
            return None
        if raw not in values:
            raise InvalidSettingError(key, expected, raw)
        return str(raw)

    return parse


@dataclass(frozen=True)
class Unused:
    """A parameter of AWS's template that has no use here: only empty, as AWS's stacks have it (so that
    update-stack from AWS's template can pass it on)."""

    expected: str

    def __call__(self, key: str, raw: Any) -> None:
        if raw not in ("", None):
            raise InvalidSettingError(key, self.expected, raw)


def _optional(form: forms.ValueForm) -> str:
    """A parameter pattern: nothing, or a value of ``form`` (CloudFormation matches whole values)."""
    return f"^$|^(?:{form.pattern})$"


def _list_of(form: forms.ValueForm) -> str:
    return f"^$|^(?:{form.pattern})(?:,(?:{form.pattern}))*$"


TRUE_OR_FALSE = ("true", "false")
# The console groups of the template's parameters (AWS::CloudFormation::Interface), in their order.
API, PERMISSIONS, CODE, PROTECTION = "API", "Function permissions", "Function code", "Logging and protection"
GROUPS = (API, PERMISSIONS, CODE, PROTECTION)


@dataclass(frozen=True)
class Parameter:
    """A parameter of the portable template, as the template declares it."""

    name: str
    description: str
    default: str = ""
    allowed_values: list[str] | None = None
    pattern: str | None = None
    constraint: str | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class TemplateParameter:
    """How an option is a parameter of the portable template.

    ``description`` and ``default`` may name the template's Region and version (``{region}``,
    ``{version}``, ``{spec}``: the official spec there). ``group`` is its console group,
    ``position`` its place in the group.
    """

    description: str
    group: str
    position: int
    default: str = ""
    allowed_values: tuple[str, ...] | None = None
    pattern: str | None = None
    constraint: str | None = None
    max_length: int | None = None

    def for_template(self, name: str, region: str, version: str) -> Parameter:
        names = {"region": region, "version": version, "spec": official_api_definition_s3_uri(version, region)}
        return Parameter(
            name,
            self.description.format(**names),
            default=self.default.format(**names),
            allowed_values=list(self.allowed_values) if self.allowed_values is not None else None,
            pattern=self.pattern,
            constraint=self.constraint,
            max_length=self.max_length,
        )


def _form(form: forms.ValueForm, description: str, group: str, position: int) -> TemplateParameter:
    """A parameter that is empty or of ``form``."""
    return TemplateParameter(description, group, position, pattern=_optional(form), constraint=form.expected)


def _flag(description: str, group: str, position: int, default: str) -> TemplateParameter:
    return TemplateParameter(description, group, position, default=default, allowed_values=TRUE_OR_FALSE)


@dataclass(frozen=True)
class Option:
    """One setting of the app, and parameter of the portable template unless ``app_only`` says why not."""

    key: str
    #: The settings field (``Settings.<field>``).
    field: str
    parse: Parser
    #: The README's default column and meaning, in Markdown.
    default: str
    meaning: str
    parameter: TemplateParameter | None = None
    #: Why the option is no parameter of the portable template.
    app_only: str = ""
    #: The construct prop the value goes to as it is (``Settings.api_props``).
    prop: str = ""
    #: Other construct props whose refusals are this key's (the settings build them from the value).
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.parameter is None) == (not self.app_only):
            raise ValueError(f"{self.key}: an option is a template parameter, or app-only with the reason why (not both)")


_VERSIONS = ", ".join(f"`{version}`" for version in SUPPORTED_PARALLELCLUSTER_VERSIONS)
_UNUSED_POLICIES_TEMPLATE = (
    "no value (the function's policies are built into this stack, for the ParallelCluster "
    "version it serves; add to them with ParallelClusterFunctionAdditionalPolicies, or give "
    "your own role with ParallelClusterFunctionRole)"
)
_DIFFERENT_CODE = (
    "a template is made for one ParallelCluster version (make template VERSION=...), as AWS publishes one per version"
)

OPTIONS: tuple[Option, ...] = (
    Option(
        "StackName", "stack_name", text, "`ParallelClusterApi`",
        "Name of the CloudFormation stack (and of its exports).",
        app_only="a template's stack is named by whoever creates it",
    ),
    Option(
        "ParallelClusterVersion", "parallelcluster_version", text, f"`{DEFAULT_PARALLELCLUSTER_VERSION}`",
        f"ParallelCluster version the API serves: {_VERSIONS} (see [ParallelCluster versions](#parallelcluster-versions)). "
        "It selects the spec, the image's locked environment or the layer, the function's permissions, and tags every resource.",
        app_only=_DIFFERENT_CODE,
        prop="parallelcluster_version",
    ),
    Option(
        "Region", "region", text, "`*`",
        "`*`: the API manages ParallelCluster resources in every Region. A Region name: the function's permissions are "
        "limited to that Region (`aws:RequestedRegion` conditions and Region ARNs).",
        TemplateParameter(
            "'*' lets the API manage ParallelCluster resources in every Region; a Region name (e.g. eu-west-1) limits it to that Region.",
            API, 0, default=forms.ALL_REGIONS, pattern=r"^\*$|^[a-z]{2}(?:-[a-z]+)+-[0-9]+$",
            constraint="'*' or a Region name such as eu-west-1",
        ),
        prop="region",
    ),
    Option(
        "ParallelClusterFunctionRole", "parallelcluster_function_role", text, "(none)",
        "ARN of an existing role, trusted by Lambda, for the function. The stack then creates no ParallelCluster policy "
        "(and refuses the three settings below that would add one).",
        _form(
            forms.IAM_ROLE_ARN,
            "ARN of an existing role for the API function (trusted by Lambda). Default: a role the stack creates with the permissions the release needs.",
            PERMISSIONS, 0,
        ),
    ),
    Option(
        "ApiDefinitionS3Uri", "api_definition_s3_uri", text, "official spec",
        "S3 URI of the OpenAPI spec, pulled in with `AWS::Include`. Default: "
        "`s3://<region>-aws-parallelcluster/parallelcluster/<version>/api/ParallelCluster.openapi.yaml` in the Region "
        "`cdk deploy` deploys to.",
        TemplateParameter(
            "S3 URI of the ParallelCluster OpenAPI spec, in the Region you deploy to. Default: the official spec of {version} in {region}.",
            API, 1, default="{spec}", pattern=f"^(?:{forms.S3_URI.pattern})$", constraint=forms.S3_URI.expected,
        ),
        prop="api_definition_s3_uri",
    ),
    Option(
        "CustomDomainName", "custom_domain_name", text, "(none)",
        "With `CustomDomainCertificate`: a regional custom domain with that ACM certificate (TLS 1.2), mapped to the "
        "`prod` stage; `ParallelClusterApiInvokeUrl` becomes `https://<domain>`.",
        _form(forms.DOMAIN_NAME, "Custom domain name of the API (with CustomDomainCertificate), e.g. hpc-api.example.com.", API, 4),
    ),
    Option(
        "CustomDomainCertificate", "custom_domain_certificate", text, "(none)",
        "With `CustomDomainName`: ARN of the domain's ACM certificate, in the stack's Region.",
        _form(forms.ACM_CERTIFICATE_ARN, "ARN of the ACM certificate of the custom domain name, in the Region you deploy to.", API, 5),
    ),
    Option(
        "CustomDomainHostedZoneId", "custom_domain_hosted_zone_id", text, "(none)",
        "With a custom domain: the Route 53 hosted zone that gets the alias record. Without it, point your DNS at the "
        "`ParallelClusterApiDomainTarget` output.",
        _form(
            forms.HOSTED_ZONE_ID,
            "Route 53 hosted zone that gets the custom domain's alias record. Without it, point your DNS at the ParallelClusterApiDomainTarget output.",
            API, 6,
        ),
    ),
    Option(
        "VpcEndpointId", "vpc_endpoint_id", text, "(none)",
        "An `execute-api` interface VPC endpoint: the API becomes private and answers only through it, at "
        "`https://<api id>-<vpce id>.execute-api.<region>.<url suffix>/prod`. Not combinable with a custom domain.",
        _form(forms.VPC_ENDPOINT_ID, "An execute-api interface VPC endpoint: the API becomes private, reachable only through it.", API, 3),
    ),
    Option(
        "EnableIamAdminAccess", "enable_iam_admin_access", boolean, "`false`",
        "Let the function create the IAM roles and instance profiles of clusters and images (under `parallelcluster/`) "
        "and attach only the policies ParallelCluster uses. **Warning: setting this to true grants IAM admin privileges "
        "to the Lambda function executing ParallelCluster operations.**",
        _flag(
            "true lets the API create the IAM roles of clusters and images (under parallelcluster/). WARNING: this grants IAM admin privileges to the API function.",
            PERMISSIONS, 1, "false",
        ),
    ),
    Option(
        "EnableFSxS3Access", "enable_fsx_s3_access", boolean, "`false`",
        "With `FsxS3Buckets`: S3 reads, lists and `PutObject` on those buckets and their objects, for FSx for Lustre "
        "data repositories.",
        _flag(
            "true lets the API read, list and write the S3 buckets of FsxS3Buckets, for FSx for Lustre data repositories.",
            PERMISSIONS, 4, "false",
        ),
    ),
    Option(
        "FsxS3Buckets", "fsx_s3_buckets", comma_separated, "(none)",
        "With `EnableFSxS3Access=true`: comma-separated bucket ARNs (`arn:aws:s3:::<prefix>*` for buckets whose names "
        "start with a prefix), or `*` for every bucket.",
        TemplateParameter(
            "With EnableFSxS3Access: comma-separated S3 bucket ARNs (arn:aws:s3:::<bucket>), or '*' for every bucket.",
            PERMISSIONS, 5,
            # The official template's pattern.
            pattern=r"^((arn:[a-z\-\*]*:s3:[a-z0-9\-]*:([0-9]{12})*:[^,\s\/]+)?(,arn:[a-z\-\*]*:s3:[a-z0-9\-]*:([0-9]{12})*:[^,\s\/]+)*)$|^\*$",
            constraint="comma-separated S3 bucket ARNs, e.g. arn:aws:s3:::bucket-1,arn:aws:s3:::bucket-2, or '*'",
        ),
    ),
    Option(
        "PermissionsBoundaryPolicy", "permissions_boundary_policy", text, "(none)",
        "ARN of a managed policy set as permissions boundary on every role the stack creates; the function may then "
        "create roles (and put or attach their policies) only with that boundary, as ParallelCluster's "
        "PermissionsBoundary mode needs.",
        TemplateParameter(
            "ARN of an IAM managed policy: the permissions boundary of every role this stack creates, and of every role the API creates for clusters and images.",
            PERMISSIONS, 2,
            # The official template's pattern.
            pattern=r"^(arn:.*:iam::.*:policy\/([a-zA-Z0-9_-]+))|()$",
            constraint="an IAM managed policy ARN, arn:<partition>:iam::<account id>:policy/<name>",
        ),
    ),
    Option(
        "CreateApiUserRole", "create_api_user_role", boolean, "`true`",
        "Create the role that may invoke the API; the resource policy denies every other principal. With `false`: IAM "
        "policies alone decide who may call the API (see [Granting access](#granting-access)).",
        _flag(
            "true creates an IAM role allowed to invoke the API; the API's resource policy then denies every other principal.",
            API, 2, "true",
        ),
        prop="create_api_user_role",
    ),
    Option(
        "AllowedPrincipalArns", "allowed_principal_arns", comma_separated, "(none)",
        "Comma-separated IAM role ARNs that may invoke the API besides the user role: the resource policy allows them. "
        "Roles of this account only, unless `AllowCrossAccountPrincipals=true`.",
        app_only="its roles become principals of the resource policy; in a template, grant access with IAM policies",
        names=("allowed_principals",),
    ),
    Option(
        "AllowCrossAccountPrincipals", "allow_cross_account_principals", boolean, "`false`",
        "With `AllowedPrincipalArns`: let them name roles of other accounts. Without it, the resource policy denies every "
        "principal of another account, and a role of another account is refused.",
        app_only="it qualifies AllowedPrincipalArns, an option of the app alone",
        prop="allow_cross_account_principals",
    ),
    Option(
        "IAMRoleAndPolicyPrefix", "iam_role_and_policy_prefix", text, "(none)",
        "At most 10 characters that start the name of every IAM role and policy the stack creates.",
        TemplateParameter(
            "Prefix of the names of the IAM roles and policies this stack creates.",
            PERMISSIONS, 3, pattern=f"^(?:{forms.IAM_PREFIX.pattern})$", constraint=forms.IAM_PREFIX.expected,
            max_length=forms.MAX_IAM_PREFIX_LENGTH,
        ),
        prop="iam_role_and_policy_prefix",
    ),
    Option(
        "ParallelClusterFunctionAdditionalPolicies", "parallelcluster_function_additional_policies", comma_separated, "(none)",
        "Comma-separated ARNs of further managed policies for the function's role. IAM attaches at most 20 managed "
        "policies to a role, 5 to 7 of them the stack's own; above 10 in all, raise IAM's per-role quota first.",
        TemplateParameter(
            "Comma-separated ARNs of further IAM managed policies for the API function's role.",
            PERMISSIONS, 6, pattern=_list_of(forms.IAM_POLICY_ARN),
            constraint=f"comma-separated values, each {forms.IAM_POLICY_ARN.expected}",
        ),
        names=("additional_policies",),
    ),
    Option(
        "PoliciesTemplateUri", "policies_template_uri", Unused(_UNUSED_POLICIES_TEMPLATE), "(none)",
        "Not used, and refused when set: AWS's template loads the function's policies from this URI, ours are built in, "
        "for the version the API serves (add to them with `ParallelClusterFunctionAdditionalPolicies`, or bring your "
        "own role with `ParallelClusterFunctionRole`). It is a parameter so that an update from AWS's template can pass "
        "every parameter on.",
        TemplateParameter(
            "Not used, and empty: this template builds the function's policies in, for the ParallelCluster version it serves (AWS's template loads them from this URI). It exists so that update-stack from AWS's template can pass it on.",
            PERMISSIONS, 7,
        ),
    ),
    Option(
        "CustomBucket", "custom_bucket", text, "(none)",
        "With `LambdaImageSource=layer`: the S3 bucket the official layer is read from, under AWS's key "
        "(`parallelcluster/<version>/layers/aws-parallelcluster/lambda-layer.zip`), as AWS's template reads its "
        "`CustomBucket` (marked \"debug only\" there). Default: `<region>-aws-parallelcluster`.",
        _form(
            forms.S3_BUCKET_NAME,
            "With LambdaImageSource=layer: the S3 bucket AWS's layer is read from, under its usual key (AWS's template marks this debug only). Default: the Region's aws-parallelcluster bucket.",
            CODE, 1,
        ),
    ),
    Option(
        "LambdaImageSource", "lambda_image_source",
        choice(
            "imagebuilder", "asset", "layer",
            expected="imagebuilder (build in the account), asset (build with local Docker) or layer (the official Lambda layer)",
        ),
        "`imagebuilder` (the CDK app); `layer` (the portable template)",
        "Where the function's code comes from when `EcrImageUri` and `PublicEcrImageUri` are not set: `imagebuilder` "
        "(EC2 Image Builder builds `lambda_image/` in your account), `asset` (your local Docker builds it during "
        "`cdk deploy`, the CDK app only) or `layer` (AWS's official ParallelCluster Lambda layer, no image). See "
        "[The function's code](#the-functions-code).",
        TemplateParameter(
            "Where the function's code comes from unless EcrImageUri or PublicEcrImageUri names an image. layer: AWS's official ParallelCluster Lambda layer, as AWS's template runs it (the stack is ready in minutes). imagebuilder: EC2 Image Builder builds the API's container image in your account (20 to 40 minutes on first creation).",
            CODE, 0, default="layer", allowed_values=("layer", "imagebuilder"),
        ),
    ),
    Option(
        "EcrImageUri", "ecr_image_uri", text, "(none)",
        "A private ECR image the function runs; nothing is built.",
        _form(forms.ECR_IMAGE_URI, "A private ECR image for the function to run, instead of building one.", CODE, 2),
    ),
    Option(
        "PublicEcrImageUri", "public_ecr_image_uri", text, "(none)",
        "An existing image (tag or digest, at most 119 characters) that Image Builder copies into your account, as the "
        "official template did with `public.ecr.aws/parallelcluster/pcluster-api:3.5.1`.",
        _form(
            forms.CONTAINER_IMAGE_URI,
            "An existing image (tag or digest) that EC2 Image Builder copies into your account, e.g. public.ecr.aws/parallelcluster/pcluster-api:3.5.1.",
            CODE, 3,
        ),
    ),
    Option(
        "ImageBuilderVpcId", "image_builder_vpc_id", text, "(none)",
        "With `ImageBuilderSubnetId`: the VPC of the image build instance, for accounts without a default VPC.",
        _form(forms.VPC_ID, "VPC of the image build instance (with ImageBuilderSubnetId). Default: the default VPC.", CODE, 4),
    ),
    Option(
        "ImageBuilderSubnetId", "image_builder_subnet_id", text, "(none)",
        "With `ImageBuilderVpcId`: the build's subnet, which needs internet access (a public subnet must map public IPs "
        "on launch); the build gets a security group that allows HTTPS out and nothing in.",
        _form(forms.SUBNET_ID, "Subnet of the image build instance, with a route to the internet.", CODE, 5),
    ),
    Option(
        "ApiGatewayAccountRole", "api_gateway_account_role",
        choice(
            *(mode.value for mode in AccountRoleMode),
            expected="ensure (keep the account's role, else set one), existing (managed elsewhere) or none (no API logging)",
        ),
        "`ensure`",
        "API request logging (JSON access log, execution log at ERROR) needs the CloudWatch role of the account's API "
        "Gateway settings, shared by every API of the account and Region. `ensure`: keep the account's role if it has "
        "one, else set one the stack offers (see [Deleting](#operations)). `existing`: your platform manages it; the "
        "stack does not touch account settings. `none`: no API request logging.",
        TemplateParameter(
            "ensure: keep the account's API Gateway CloudWatch role, or set one where it has none. existing: the account's role is managed elsewhere. none: no CloudWatch logging of API requests.",
            PROTECTION, 0, default="ensure", allowed_values=("ensure", "existing", "none"),
        ),
    ),
    Option(
        "WebAclArn", "web_acl_arn", text, "(none)",
        "ARN of a regional AWS WAF web ACL to associate with the `prod` stage.",
        _form(forms.WEB_ACL_ARN, "ARN of a regional AWS WAF web ACL to associate with the API's stage.", PROTECTION, 1),
        prop="web_acl_arn",
    ),
    Option(
        "LogsKmsKeyArn", "logs_kms_key_arn", text, "(none)",
        "KMS key that encrypts every log group of the stack (its key policy must allow CloudWatch Logs). Default: "
        "CloudWatch Logs' own encryption.",
        _form(
            forms.KMS_KEY_ARN,
            "ARN of a KMS key that encrypts the stack's log groups; its key policy must let CloudWatch Logs use it.",
            PROTECTION, 2,
        ),
    ),
    Option(
        "AlarmTopicArn", "alarm_topic_arn", text, "(none)",
        "An SNS topic in the stack's Region that every alarm of the stack notifies when it fires and when it is back to "
        "OK (see [Alarms](#operations)). A topic encrypted with a customer managed KMS key needs a key policy that lets "
        "`cloudwatch.amazonaws.com` use it (`kms:Decrypt`, `kms:GenerateDataKey*`: SNS developer guide, \"Key "
        "management\"). Without it the alarms notify nobody.",
        _form(
            forms.SNS_TOPIC_ARN,
            "ARN of an SNS topic, in the Region you deploy to, that the stack's CloudWatch alarms notify (README: Operations). Default: the alarms notify nobody.",
            PROTECTION, 3,
        ),
        names=("alarm_topic",),
    ),
    Option(
        "ReservedConcurrency", "reserved_concurrency", reserved_concurrency, "(none)",
        "Reserved (and maximum) concurrent executions of the API function.",
        TemplateParameter(
            "Concurrent executions reserved for (and capping) the API function. Default: none, the account's unreserved pool.",
            PROTECTION, 4, pattern=f"^$|^{forms.RESERVED_CONCURRENCY.pattern}$", constraint=_NO_RESERVATION,
        ),
        prop="reserved_concurrent_executions",
    ),
    Option(
        "NagPacks", "nag_packs", comma_separated, "all four",
        "cdk-nag packs run on every synth: `AwsSolutions,Serverless,NIST.800.53.R5,HIPAA.Security`.",
        app_only="the packs audit the synthesis that makes the template (make template runs all four)",
    ),
)
BY_KEY = {option.key: option for option in OPTIONS}
#: AWS's parameters that have no use here: key → what they accept instead.
UNUSED_PARAMETERS = {option.key: option.parse.expected for option in OPTIONS if isinstance(option.parse, Unused)}


def template_parameters(options: Iterable[Option], region: str, version: str) -> list[Parameter]:
    """The portable template's parameters, in the options' order."""
    return [option.parameter.for_template(option.key, region, version) for option in options if option.parameter]


def parameter_groups(options: Iterable[Option]) -> dict[str, list[str]]:
    """The console's groups of the template's parameters: group → parameter names, each in its place."""
    placed = sorted(
        (GROUPS.index(option.parameter.group), option.parameter.position, option.key) for option in options if option.parameter
    )
    groups: dict[str, list[str]] = {}
    for group, _, key in placed:
        groups.setdefault(GROUPS[group], []).append(key)
    return groups


def prop_keys(options: Iterable[Option]) -> dict[str, str]:
    """The construct's prop names (and props' argument names) → the context keys the user wrote."""
    return {prop: option.key for option in options for prop in (option.prop, *option.names) if prop}


def readme_table(options: Sequence[Option]) -> str:
    """The README's configuration table."""
    rows = ["| Key | Default | Meaning |", "| --- | --- | --- |"]
    rows += [f"| `{option.key}` | {option.default} | {option.meaning} |" for option in options]
    return "\n".join(rows) + "\n"
