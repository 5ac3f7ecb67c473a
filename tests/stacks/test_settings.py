"""The app's settings: official names, defaults in cdk.json, one clear refusal per bad value."""

from __future__ import annotations

import inspect
import pytest

from constructs_lib import ParallelClusterApi
from constructs_lib.api_image import locks
from constructs_lib.validation import DEFAULT_PARALLELCLUSTER_VERSION, SUPPORTED_PARALLELCLUSTER_VERSIONS, InvalidSettingError
from stacks.settings import Settings
from tests.conftest import BOUNDARY_ARN, CERTIFICATE_ARN, VPC_ENDPOINT_ID, cdk_json_context

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
}


def parse(**context: object) -> Settings:
    return Settings.from_context({**cdk_json_context(), **context})


def test_every_official_parameter_is_a_setting():
    ours = {
        "ParallelClusterVersion",
        "StackName",
        "LambdaImageSource",
        "AllowedPrincipalArns",
        "ApiGatewayAccountRole",
        "WebAclArn",
        "LogsKmsKeyArn",
        "ReservedConcurrency",
        "NagPacks",
    }
    assert OFFICIAL_PARAMETERS | ours == set(Settings.keys())


def test_cdk_json_holds_every_setting_with_the_construct_default():
    context = cdk_json_context()
    assert set(Settings.keys()) <= set(context)
    assert parse() == Settings(), "cdk.json defaults differ from the settings' defaults"
    construct_defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(ParallelClusterApi.__init__).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }
    for name, value in Settings().construct_props().items():
        assert construct_defaults[name] == value, name


def test_settings_map_one_to_one_onto_the_construct_props():
    keyword_props = {
        name
        for name, parameter in inspect.signature(ParallelClusterApi.__init__).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert set(Settings().construct_props()) == keyword_props


def test_default_settings():
    settings = parse()
    assert settings.stack_name == "ParallelClusterApi"
    assert settings.parallelcluster_version == "3.16.1"
    assert settings.region == "*"
    assert settings.create_api_user_role is True
    assert settings.enable_iam_admin_access is False
    assert settings.fsx_s3_buckets == ()


def test_values_are_parsed_into_typed_props():
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
    )
    assert settings.region == "eu-west-1"
    assert settings.enable_iam_admin_access is True
    assert settings.create_api_user_role is False
    assert settings.fsx_s3_buckets == ("arn:aws:s3:::one", "arn:aws-cn:s3:::two", "arn:aws:s3:::hpc-data-*")
    assert settings.permissions_boundary_policy == BOUNDARY_ARN
    assert settings.iam_role_and_policy_prefix == "pc-"
    assert settings.parallelcluster_version == "3.16.1"
    assert settings.parallelcluster_function_additional_policies == (BOUNDARY_ARN, "arn:aws:iam::aws:policy/ReadOnlyAccess")


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
        ("ParallelClusterVersion", "3.16", "a ParallelCluster version whose permissions and image this project checked: 3.16.1"),
        ("ParallelClusterVersion", "latest", "a ParallelCluster version whose permissions"),
        # Checked against 3.16.1 only: 3.15 still had the AWS Batch scheduler, with other permissions.
        ("ParallelClusterVersion", "3.15.0", "a ParallelCluster version whose permissions"),
        ("ParallelClusterFunctionAdditionalPolicies", "arn:aws:iam::123456789012:role/x", "comma-separated IAM managed policy ARNs"),
        ("ParallelClusterFunctionAdditionalPolicies", "ReadOnlyAccess", "comma-separated IAM managed policy ARNs"),
        ("StackName", "1stack", "a CloudFormation stack name"),
        ("StackName", "my_stack", "a CloudFormation stack name"),
        ("Region", "mars-north-1", "'*' or a Region name"),
        ("Region", "EU-WEST-1", "'*' or a Region name"),
        ("EnableIamAdminAccess", "yes", "true or false"),
        ("EnableIamAdminAccess", "True", "true or false"),
        ("CreateApiUserRole", "1", "true or false"),
        ("EnableFSxS3Access", "", "true or false"),
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
        ("ReservedConcurrency", "0", "a positive whole number"),
        ("ReservedConcurrency", "ten", "a positive whole number"),
        ("ReservedConcurrency", "\u00b2", "a positive whole number"),
        ("ReservedConcurrency", True, "a positive whole number"),
        ("ParallelClusterVersion", "\uff13.16.1", "a ParallelCluster version whose permissions"),
        ("IAMRoleAndPolicyPrefix", "hpc\u00e9", "at most 10 characters among letters"),
        ("FsxS3Buckets", "arn:aws:s3:::**", "an S3 bucket ARN"),
        ("FsxS3Buckets", "arn:aws:s3:::*", "an S3 bucket ARN"),
        ("EnableIamAdminAccess", 1, "true or false"),
        ("CreateApiUserRole", 0, "true or false"),
        ("AllowedPrincipalArns", "arn:aws:iam::123456789012:user/alice", "an IAM role ARN"),
        ("NagPacks", "AwsSolutions,PCI", "comma-separated cdk-nag packs among"),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_the_key_and_the_form(key, value, expected):
    with pytest.raises(InvalidSettingError) as error:
        parse(**{key: value})
    message = str(error.value)
    assert message.startswith(f"{key}: expected {expected}")
    assert "\n" not in message
    assert error.value.setting == key


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
            "no value when LambdaImageSource is set (the image is built with local Docker)",
        ),
        (
            {"LambdaImageSource": "layer", "EcrImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1"},
            "EcrImageUri",
            "no value when LambdaImageSource is set (the function runs the official layer)",
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


def test_every_supported_version_has_a_locked_image_environment():
    """A version is supported once its permissions were checked and its image environment locked."""
    assert set(SUPPORTED_PARALLELCLUSTER_VERSIONS) <= set(locks.locked_versions())
    assert DEFAULT_PARALLELCLUSTER_VERSION in SUPPORTED_PARALLELCLUSTER_VERSIONS
