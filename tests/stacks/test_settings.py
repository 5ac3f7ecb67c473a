"""The app's settings: official names, the construct's defaults, one clear refusal per bad value."""

from __future__ import annotations

import inspect

import aws_cdk as cdk
import pytest

from constructs_lib import AccountRoleMode, BuildNetwork, FsxS3Access, FunctionCode, ParallelClusterApi, audit
from constructs_lib.api_image import locks
from constructs_lib.validation import InvalidSettingError
from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION, SUPPORTED_PARALLELCLUSTER_VERSIONS
from stacks import ParallelClusterApiStack
from stacks.options import OPTIONS
from stacks.settings import Settings
from tests.conftest import BOUNDARY_ARN, CERTIFICATE_ARN, VPC_ENDPOINT_ID, cdk_json_context
from tests.stacks.official_facts import api_facts

OFFICIAL_PARAMETERS = {
    "Region",
    "ParallelClusterFunctionRole",
    "ApiDefinitionS3Uri",
    "CustomDomainName",
    "CustomDomainCertificate",
    "CustomDomainHostedZoneId",
    "VpcEndpointId",
    "EnableIamAdminAccess",
    "EnableFSxS3Access",
    "FsxS3Buckets",
    "PermissionsBoundaryPolicy",
    "CreateApiUserRole",
    "IAMRoleAndPolicyPrefix",
    "EcrImageUri",
    "PublicEcrImageUri",
    "ImageBuilderVpcId",
    "ImageBuilderSubnetId",
    "ParallelClusterFunctionAdditionalPolicies",
    "CustomBucket",
    "PoliciesTemplateUri",
}


def parse(**context: object) -> Settings:
    return Settings.from_context({**cdk_json_context(), **context})


def refusal(**context: object) -> InvalidSettingError:
    """The refusal of a context, whether the settings or the construct they build refuse it."""
    with pytest.raises(InvalidSettingError) as error:
        settings = parse(**context)
        ParallelClusterApiStack(cdk.App(), settings=settings)
    return error.value


def test_every_official_parameter_is_a_setting():
    assert OFFICIAL_PARAMETERS <= set(Settings.keys())
    # Those of AWS's 3.11.1 template, as recorded (tests/stacks/official/).
    assert set(api_facts()["parameters"]) <= OFFICIAL_PARAMETERS


def test_defaults_are_the_constructs_own_written_once():
    """cdk.json holds CDK's feature flags only: an unset key passes nothing, the construct decides."""
    assert not [key for key in cdk_json_context() if not key.startswith("@")]
    settings = parse()
    assert all(getattr(settings, name) is None for name in Settings.keys().values())
    assert settings.api_props(cdk.Stack()) == {}
    assert settings.name == "ParallelClusterApi" and settings.packs == audit.PACKS


def test_values_are_parsed_into_typed_fields():
    settings = parse(
        Region="eu-west-1",
        EnableIamAdminAccess="true",
        CreateApiUserRole=False,
        EnableFSxS3Access="true",
        FsxS3Buckets="arn:aws:s3:::one, arn:aws-cn:s3:::two, arn:aws:s3:::hpc-data-*",
        PermissionsBoundaryPolicy=BOUNDARY_ARN,
        IAMRoleAndPolicyPrefix="pc-",
        ParallelClusterVersion="3.16.1",
        ParallelClusterFunctionAdditionalPolicies=f"{BOUNDARY_ARN}, arn:aws:iam::aws:policy/ReadOnlyAccess",
        ReservedConcurrency=20,
    )
    assert settings.region == "eu-west-1"
    assert settings.enable_iam_admin_access is True
    assert settings.create_api_user_role is False
    assert settings.fsx_s3_buckets == ("arn:aws:s3:::one", "arn:aws-cn:s3:::two", "arn:aws:s3:::hpc-data-*")
    assert settings.permissions_boundary_policy == BOUNDARY_ARN
    assert settings.iam_role_and_policy_prefix == "pc-"
    assert settings.parallelcluster_version == "3.16.1"
    assert settings.parallelcluster_function_additional_policies == (BOUNDARY_ARN, "arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert settings.reserved_concurrency == 20


def test_settings_become_the_constructs_typed_props():
    stack = cdk.Stack()
    props = parse(
        EnableIamAdminAccess="true",
        EnableFSxS3Access="true",
        FsxS3Buckets="*",
        ImageBuilderVpcId="vpc-0123456789abcdef0",
        ImageBuilderSubnetId="subnet-0123456789abcdef0",
        CustomDomainName="api.example.com",
        CustomDomainCertificate=CERTIFICATE_ARN,
        ApiGatewayAccountRole="existing",
        AlarmTopicArn="arn:aws:sns:eu-west-1:123456789012:pcluster-alarms",
    ).api_props(stack)
    assert props["alarm_topic"].topic_arn == "arn:aws:sns:eu-west-1:123456789012:pcluster-alarms"
    assert props["function_role"].enable_iam_admin_access is True
    assert props["function_role"].fsx_s3_access == FsxS3Access.all_buckets()
    assert props["function_code"] == FunctionCode.build_in_account(
        network=BuildNetwork(vpc_id="vpc-0123456789abcdef0", subnet_id="subnet-0123456789abcdef0")
    )
    domain = props["endpoint"].custom_domain
    assert domain.domain_name == "api.example.com" and domain.hosted_zone is None
    assert stack.resolve(domain.certificate.certificate_arn) == CERTIFICATE_ARN
    assert props["api_gateway_account_role"] is AccountRoleMode.EXISTING
    assert inspect.signature(ParallelClusterApi.__init__).parameters.keys() >= props.keys()


def test_cdk_context_keys_of_cdk_itself_are_not_settings():
    parse(**{"@aws-cdk/core:newStyleStackSynthesis": True, "aws:cdk:version-reporting": False})


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("EnableIamAdminAcess", "EnableIamAdminAccess"),
        ("region", "Region"),
        ("ParallelclusterVersion", "ParallelClusterVersion"),
        ("FsxS3Bucket", "FsxS3Buckets"),
    ],
)
def test_an_unknown_setting_is_refused_with_the_closest_known_key(typo, suggestion):
    with pytest.raises(InvalidSettingError) as error:
        parse(**{typo: "true"})
    assert str(error.value) == f"{typo}: unknown setting; did you mean {suggestion}?"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("ParallelClusterVersion", "3.16", "a ParallelCluster version this project serves (its permissions and image checked): 3.14.2, 3.15.1, 3.16.1; got"),
        ("ParallelClusterVersion", "latest", "a ParallelCluster version this project serves"),
        # Each minor's latest patch is served: 3.15.0 was not checked.
        ("ParallelClusterVersion", "3.15.0", "a ParallelCluster version this project serves (its permissions and image checked): 3.14.2, 3.15.1, 3.16.1; got"),
        # Older minors: the line says why they are not served.
        ("ParallelClusterVersion", "3.13.2", "a ParallelCluster version this project serves (its permissions and image checked): "
         "3.14.2, 3.15.1, 3.16.1; 3.13 and older are not served: their cluster and image stacks create python3.9 Lambda functions"),
        ("ParallelClusterVersion", "2.11.9", "a ParallelCluster version this project serves (its permissions and image checked): "
         "3.14.2, 3.15.1, 3.16.1; 3.13 and older are not served"),
        ("ParallelClusterVersion", "3.17.0", "a ParallelCluster version this project serves (its permissions and image checked): 3.14.2, 3.15.1, 3.16.1; got"),
        ("ParallelClusterFunctionAdditionalPolicies", "arn:aws:iam::123456789012:role/x", "comma-separated IAM managed policy ARNs"),
        ("ParallelClusterFunctionAdditionalPolicies", "ReadOnlyAccess", "comma-separated IAM managed policy ARNs"),
        ("StackName", "1stack", "a CloudFormation stack name"),
        ("StackName", "my_stack", "a CloudFormation stack name"),
        ("Region", "mars-north-1", "'*' or a Region name"),
        ("Region", "EU-WEST-1", "'*' or a Region name"),
        ("EnableIamAdminAccess", "yes", "true or false"),
        ("EnableIamAdminAccess", "True", "true or false"),
        ("CreateApiUserRole", "1", "true or false"),
        ("ParallelClusterFunctionRole", "pcluster-role", "an IAM role ARN"),
        ("ParallelClusterFunctionRole", "arn:aws:iam::123:role/x", "an IAM role ARN"),
        ("ParallelClusterFunctionRole", BOUNDARY_ARN, "an IAM role ARN"),
        ("PermissionsBoundaryPolicy", "arn:aws:iam::123456789012:role/x", "an IAM managed policy ARN"),
        ("ApiDefinitionS3Uri", "https://bucket.s3.amazonaws.com/spec.yaml", "an S3 URI"),
        ("ApiDefinitionS3Uri", "s3://bucket", "an S3 URI"),
        ("CustomDomainName", "not a domain", "a lower-case DNS name"),
        ("CustomDomainCertificate", "arn:aws:iam::123456789012:server-certificate/x", "an ACM certificate ARN"),
        ("CustomDomainHostedZoneId", "example.com", "a Route 53 hosted zone id"),
        ("VpcEndpointId", "vpc-0123456789abcdef0", "a VPC endpoint id"),
        ("ImageBuilderVpcId", "vpce-0123456789abcdef0", "a VPC id"),
        ("ImageBuilderSubnetId", "subnet-xyz", "a subnet id"),
        ("FsxS3Buckets", "my-bucket", "an S3 bucket ARN"),
        ("FsxS3Buckets", "arn:aws:s3:::okay,arn:aws:s3:::bad/key", "an S3 bucket ARN"),
        ("FsxS3Buckets", "arn:aws:s3:::okay,*", "'*' alone or a list of S3 bucket ARNs"),
        ("IAMRoleAndPolicyPrefix", "prefix-too-long", "at most 10 characters"),
        ("IAMRoleAndPolicyPrefix", "pc/", "at most 10 characters"),
        ("EcrImageUri", "public.ecr.aws/parallelcluster/pcluster-api:3.5.1", "a private ECR image URI"),
        ("EcrImageUri", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo", "a private ECR image URI"),
        ("PublicEcrImageUri", "pcluster-api", "a container image URI with a tag or digest"),
        ("LambdaImageSource", "docker", "imagebuilder (build in the account), asset (build with local Docker) or layer"),
        ("ApiGatewayAccountRole", "create", "ensure (keep the account's role, else set one)"),
        ("WebAclArn", "arn:aws:waf::123456789012:webacl/x", "a regional AWS WAF web ACL ARN"),
        ("LogsKmsKeyArn", "alias/aws/logs", "a KMS key ARN"),
        ("AlarmTopicArn", "pcluster-alarms", "an SNS topic ARN"),
        ("AlarmTopicArn", "arn:aws:sqs:eu-west-1:123456789012:pcluster-alarms", "an SNS topic ARN"),
        ("ReservedConcurrency", "0", "a positive whole number"),
        ("ReservedConcurrency", "ten", "a positive whole number"),
        ("ReservedConcurrency", "\u00b2", "a positive whole number"),
        ("ReservedConcurrency", True, "a positive whole number"),
        ("ParallelClusterVersion", "\uff13.16.1", "a ParallelCluster version this project serves"),
        ("IAMRoleAndPolicyPrefix", "hpc\u00e9", "at most 10 characters among letters"),
        ("FsxS3Buckets", "arn:aws:s3:::**", "an S3 bucket ARN"),
        ("FsxS3Buckets", "arn:aws:s3:::*", "an S3 bucket ARN"),
        ("EnableIamAdminAccess", 1, "true or false"),
        ("CreateApiUserRole", 0, "true or false"),
        ("AllowedPrincipalArns", "arn:aws:iam::123456789012:user/alice", "an IAM role ARN"),
        ("NagPacks", "AwsSolutions,PCI", "comma-separated cdk-nag packs among"),
        ("CustomBucket", "My_Bucket", "an S3 bucket name"),
        ("PoliciesTemplateUri", "s3://my-bucket/policies.yaml", "no value (the function's policies are built into this stack"),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_the_key_and_the_form(key, value, expected):
    partners = {
        "FsxS3Buckets": {"EnableFSxS3Access": "true"},
        "CustomDomainCertificate": {"CustomDomainName": "api.example.com"},
        "CustomDomainHostedZoneId": {"CustomDomainName": "api.example.com", "CustomDomainCertificate": CERTIFICATE_ARN},
        "CustomDomainName": {"CustomDomainCertificate": CERTIFICATE_ARN},
        "ImageBuilderVpcId": {"ImageBuilderSubnetId": "subnet-0123456789abcdef0"},
        "ImageBuilderSubnetId": {"ImageBuilderVpcId": "vpc-0123456789abcdef0"},
        "CustomBucket": {"LambdaImageSource": "layer"},
    }
    error = refusal(**{key: value, **partners.get(key, {})})
    message = str(error)
    assert message.startswith(f"{key}: expected {expected}")
    assert "\n" not in message
    assert error.setting == key


@pytest.mark.parametrize(
    ("context", "refused_key", "expected"),
    [
        ({"CustomDomainName": "api.example.com"}, "CustomDomainCertificate", "a value when CustomDomainName is set"),
        ({"CustomDomainCertificate": CERTIFICATE_ARN}, "CustomDomainName", "a value when CustomDomainCertificate is set"),
        ({"CustomDomainHostedZoneId": "Z0123456789"}, "CustomDomainName", "a value when CustomDomainHostedZoneId is set"),
        ({"EnableFSxS3Access": "true"}, "FsxS3Buckets", "a value when EnableFSxS3Access is set"),
        ({"FsxS3Buckets": "*"}, "EnableFSxS3Access", "true when FsxS3Buckets is set"),
        ({"ImageBuilderVpcId": "vpc-0123456789abcdef0"}, "ImageBuilderSubnetId", "a value when ImageBuilderVpcId"),
        ({"ImageBuilderSubnetId": "subnet-0123456789abcdef0"}, "ImageBuilderVpcId", "a value when ImageBuilderSubnetId"),
        (
            {"VpcEndpointId": VPC_ENDPOINT_ID, "CustomDomainName": "api.example.com", "CustomDomainCertificate": CERTIFICATE_ARN},
            "CustomDomainName",
            "no value when VpcEndpointId is set",
        ),
        (
            {"EcrImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1", "PublicEcrImageUri": "public.ecr.aws/x/y:1"},
            "PublicEcrImageUri",
            "no value when EcrImageUri is set",
        ),
        (
            {"LambdaImageSource": "asset", "PublicEcrImageUri": "public.ecr.aws/x/y:1"},
            "PublicEcrImageUri",
            "no value when LambdaImageSource is asset (the image is built with local Docker)",
        ),
        (
            {"LambdaImageSource": "layer", "EcrImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1"},
            "EcrImageUri",
            "no value when LambdaImageSource is layer (the function runs the official layer)",
        ),
        ({"CustomBucket": "my-layers"}, "LambdaImageSource", "layer when CustomBucket is set"),
        (
            {"CustomBucket": "my-layers", "EcrImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1"},
            "EcrImageUri",
            "no value when CustomBucket is set (CustomBucket is where the official layer comes from)",
        ),
        (
            {"ParallelClusterFunctionRole": "arn:aws:iam::123456789012:role/r", "EnableIamAdminAccess": "true"},
            "EnableIamAdminAccess",
            "no value when ParallelClusterFunctionRole is set",
        ),
        (
            {
                "ParallelClusterFunctionRole": "arn:aws:iam::123456789012:role/r",
                "ParallelClusterFunctionAdditionalPolicies": "arn:aws:iam::aws:policy/ReadOnlyAccess",
            },
            "ParallelClusterFunctionAdditionalPolicies",
            "no value when ParallelClusterFunctionRole is set",
        ),
    ],
)
def test_settings_that_need_a_partner_or_contradict_each_other_are_refused(context, refused_key, expected):
    with pytest.raises(InvalidSettingError) as error:
        parse(**context)
    assert str(error.value).startswith(f"{refused_key}: expected {expected}")


def test_a_role_of_another_account_needs_the_explicit_choice():
    other = "arn:aws:iam::210987654321:role/portal"
    with pytest.raises(InvalidSettingError) as error:
        settings = parse(AllowedPrincipalArns=other)
        ParallelClusterApiStack(cdk.App(), settings=settings, env=cdk.Environment(account="123456789012"))
    assert str(error.value).startswith("AllowedPrincipalArns: expected roles of this stack's account 123456789012")
    settings = parse(AllowedPrincipalArns=other, AllowCrossAccountPrincipals="true")
    ParallelClusterApiStack(cdk.App(), settings=settings, env=cdk.Environment(account="123456789012"))


def test_every_supported_version_has_a_locked_image_environment():
    """A version is supported once its permissions were checked and its image environment locked."""
    assert set(SUPPORTED_PARALLELCLUSTER_VERSIONS) <= set(locks.locked_versions())
    assert DEFAULT_PARALLELCLUSTER_VERSION in SUPPORTED_PARALLELCLUSTER_VERSIONS


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.key)
def test_an_empty_value_means_not_set_for_every_option(option):
    """The same for every key (README, Configuration): the construct's default."""
    settings = parse(**{option.key: ""})
    assert getattr(settings, option.field) is None
    assert settings.api_props(cdk.Stack()) == {}


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        # A contradiction shows the refused value as the context held it, not as Python reads it.
        ({"ParallelClusterFunctionRole": "arn:aws:iam::123456789012:role/r", "EnableIamAdminAccess": "true"},
         "EnableIamAdminAccess: expected no value when ParallelClusterFunctionRole is set (the stack creates no "
         "ParallelCluster policy for a role it does not own); got 'true'"),
        ({"AllowCrossAccountPrincipals": "true"}, "AllowedPrincipalArns: expected a value when AllowCrossAccountPrincipals is set; got nothing"),
        ({"EnableFSxS3Access": True}, "FsxS3Buckets: expected a value when EnableFSxS3Access is set; got nothing"),
    ],
)
def test_a_refusal_shows_the_value_as_typed(context, expected):
    assert str(refusal(**context)) == expected


@pytest.mark.parametrize(
    ("principals", "deploy_account", "expected"),
    [
        ("arn:aws:iam::210987654321:role/portal", "123456789012",
         "AllowedPrincipalArns: expected roles of the account the stack deploys to, 123456789012 (a role of another "
         "account, here 210987654321, needs AllowCrossAccountPrincipals=true); got 'arn:aws:iam::210987654321:role/portal'"),
        # Without credentials the CDK CLI knows no account: roles of two accounts cannot both be the stack's.
        ("arn:aws:iam::123456789012:role/ci,arn:aws:iam::210987654321:role/portal", None,
         "AllowedPrincipalArns: expected roles of one account, the stack's (a role of another account, here "
         "210987654321, needs AllowCrossAccountPrincipals=true); got 'arn:aws:iam::123456789012:role/ci,arn:aws:iam::210987654321:role/portal'"),
    ],
)
def test_a_role_of_another_account_is_refused_without_cross_account_principals(principals, deploy_account, expected):
    app = cdk.App(context={**cdk_json_context(), "AllowedPrincipalArns": principals})
    with pytest.raises(InvalidSettingError) as error:
        ParallelClusterApiStack.from_app_context(app, deploy_region="eu-west-1", deploy_account=deploy_account)
    assert str(error.value) == expected


def test_roles_of_the_stacks_account_or_allowed_other_accounts_pass():
    for context, account in (
        ({"AllowedPrincipalArns": "arn:aws:iam::123456789012:role/ci"}, "123456789012"),
        ({"AllowedPrincipalArns": "arn:aws:iam::210987654321:role/portal"}, None),
        ({"AllowedPrincipalArns": "arn:aws:iam::210987654321:role/portal", "AllowCrossAccountPrincipals": "true"}, "123456789012"),
    ):
        app = cdk.App(context={**cdk_json_context(), **context})
        ParallelClusterApiStack.from_app_context(app, deploy_region="eu-west-1", deploy_account=account)
