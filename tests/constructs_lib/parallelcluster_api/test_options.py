"""Every deployment option of the official template, as it shows in the synthesized template."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from constructs_lib import FunctionRole, ParallelClusterApi
from constructs_lib.validation import InvalidSettingError
from tests.conftest import ACCOUNT, BOUNDARY_ARN, CERTIFICATE_ARN, TEST_REGION, VPC_ENDPOINT_ID, render, synthesize


def rest_api(configuration: str) -> dict:
    return synthesize(configuration).only("AWS::ApiGateway::RestApi")["Properties"]


def managed_policies(configuration: str) -> dict[str, dict]:
    return {
        policy["Properties"]["Description"]: policy
        for policy in synthesize(configuration).resources("AWS::IAM::ManagedPolicy").values()
    }


def statements(configuration: str, description_start: str) -> dict[str, dict]:
    (policy,) = [p for d, p in managed_policies(configuration).items() if d.startswith(description_start)]
    return {s["Sid"]: s for s in render(policy["Properties"]["PolicyDocument"]["Statement"])}


# --- Custom domain -------------------------------------------------------------------------


def test_custom_domain_is_regional_tls12_and_mapped_to_prod():
    synthesized = synthesize("custom-domain-zone-prefix")
    domain = synthesized.only("AWS::ApiGateway::DomainName")["Properties"]
    assert domain["DomainName"] == "pcluster.example.com"
    assert domain["RegionalCertificateArn"] == CERTIFICATE_ARN
    assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert domain["SecurityPolicy"] == "TLS_1_2"
    mapping = synthesized.only("AWS::ApiGateway::BasePathMapping")["Properties"]
    (stage_id,) = synthesized.resources("AWS::ApiGateway::Stage")
    assert mapping["Stage"] == {"Ref": stage_id}


def test_custom_domain_with_zone_gets_an_alias_record_and_is_the_invoke_url():
    synthesized = synthesize("custom-domain-zone-prefix")
    records = synthesized.only("AWS::Route53::RecordSetGroup")["Properties"]
    assert records["HostedZoneId"] == "Z0123456789ABCDEFGHIJ"
    (domain_id,) = synthesized.resources("AWS::ApiGateway::DomainName")
    # The record SAM makes for AWS's template: one A alias record of the domain's name.
    assert records["RecordSets"] == [
        {
            "Name": "pcluster.example.com",
            "Type": "A",
            "AliasTarget": {
                "DNSName": {"Fn::GetAtt": [domain_id, "RegionalDomainName"]},
                "HostedZoneId": {"Fn::GetAtt": [domain_id, "RegionalHostedZoneId"]},
            },
        }
    ]
    (mapping,) = synthesized.resources("AWS::ApiGateway::BasePathMapping").values()
    assert "BasePath" not in mapping["Properties"], "the domain's root, as SAM maps it"
    outputs = synthesized.template["Outputs"]
    assert outputs["ParallelClusterApiInvokeUrl"]["Value"] == "https://pcluster.example.com"
    assert "ParallelClusterApiDomainTarget" not in outputs


def test_custom_domain_without_zone_gives_the_dns_target_and_no_record():
    synthesized = synthesize("custom-domain-no-zone")
    assert synthesized.resources("AWS::Route53::RecordSetGroup") == {}
    (domain_id,) = synthesized.resources("AWS::ApiGateway::DomainName")
    target = synthesized.template["Outputs"]["ParallelClusterApiDomainTarget"]["Value"]
    assert target == {"Fn::GetAtt": [domain_id, "RegionalDomainName"]}


# --- Private API ---------------------------------------------------------------------------


def test_vpc_endpoint_makes_a_private_api_reached_only_through_it():
    properties = rest_api("private")
    assert properties["EndpointConfiguration"] == {"Types": ["PRIVATE"], "VpcEndpointIds": [VPC_ENDPOINT_ID]}
    policy = render(properties["Policy"])["Statement"]
    allow, deny_elsewhere, deny_others, deny_other_accounts = policy
    assert allow["Effect"] == "Allow" and allow["Condition"] == {"StringEquals": {"aws:SourceVpce": VPC_ENDPOINT_ID}}
    assert deny_elsewhere["Effect"] == "Deny"
    assert deny_elsewhere["Condition"] == {"StringNotEquals": {"aws:SourceVpce": VPC_ENDPOINT_ID}}
    assert deny_others["Effect"] == "Deny" and "aws:PrincipalArn" in deny_others["Condition"]["ArnNotLike"]
    assert deny_other_accounts == {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "execute-api:Invoke",
        "Resource": "execute-api:/*/*/*",
        "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}},
    }


def test_private_api_invoke_url_names_the_endpoint():
    synthesized = synthesize("private")
    (api_id,) = synthesized.resources("AWS::ApiGateway::RestApi")
    url = render(synthesized.template["Outputs"]["ParallelClusterApiInvokeUrl"]["Value"])
    assert url == f"https://<{api_id}>-{VPC_ENDPOINT_ID}.execute-api.{TEST_REGION}.amazonaws.com/prod"


def test_private_api_without_user_role_admits_this_account_through_the_endpoint_only():
    """Found in review: without the user role, a private API admitted principals of any account."""
    statements_ = render(rest_api("private-no-user-role")["Policy"])["Statement"]
    assert [s["Effect"] for s in statements_] == ["Allow", "Deny", "Deny"]
    assert "aws:PrincipalArn" not in json.dumps(statements_)
    assert statements_[2]["Condition"] == {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}}


# --- IAM options ---------------------------------------------------------------------------


def test_iam_admin_access_is_off_by_default():
    assert not any(d.startswith("ParallelCluster API function - IAM admin") for d in managed_policies("default"))


def test_iam_admin_access_manages_parallelcluster_roles_only():
    admin = statements("iam-admin", "ParallelCluster API function - IAM admin")
    roles = f"arn:aws:iam::{ACCOUNT}:role/parallelcluster/*"
    assert admin["IamRole"]["Resource"] == roles
    assert admin["IamInlinePolicyAndCreateRole"]["Resource"] == roles
    assert "Condition" not in admin["IamInlinePolicyAndCreateRole"]
    attachable = admin["IamPolicy"]["Condition"]["ArnLike"]["iam:PolicyARN"]
    assert "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" in attachable
    assert "arn:aws:iam::aws:policy/AdministratorAccess" not in attachable
    assert all(arn.startswith(("arn:aws:iam::aws:policy/", f"arn:aws:iam::{ACCOUNT}:policy/parallelcluster")) for arn in attachable)


def test_permissions_boundary_conditions_role_creation_and_is_on_every_role():
    admin = statements("iam-admin-boundary", "ParallelCluster API function - IAM admin")
    boundary = {"iam:PermissionsBoundary": [BOUNDARY_ARN]}
    assert admin["IamInlinePolicyAndCreateRole"]["Condition"] == {"StringEquals": boundary}
    assert admin["IamPolicy"]["Condition"]["StringEquals"] == boundary
    for configuration in ("iam-admin-boundary", "boundary"):
        roles = synthesize(configuration).resources("AWS::IAM::Role")
        assert roles and all(r["Properties"].get("PermissionsBoundary") == BOUNDARY_ARN for r in roles.values())


def test_a_boundary_alone_lets_the_function_create_only_bounded_roles():
    """ParallelCluster's PermissionsBoundary mode: cluster and image roles, each with the boundary."""
    assert statements("boundary", "ParallelCluster API function - IAM admin") == statements(
        "iam-admin-boundary", "ParallelCluster API function - IAM admin"
    )


def test_additional_policies_are_attached_to_the_function_role():
    synthesized = synthesize("additional-policies")
    function = synthesized.template["Resources"]["ParallelClusterFunction"]["Properties"]
    role = synthesized.template["Resources"][function["Role"]["Fn::GetAtt"][0]]
    attached = render(role["Properties"]["ManagedPolicyArns"])
    assert attached == [
        f"arn:aws:iam::{ACCOUNT}:policy/pcluster-custom-actions",
        "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess",
    ]
    # The AWS managed one is the deployer's explicit choice, acknowledged for that policy alone.
    suppressed = [rule["id"] for rule in role["Metadata"]["cdk_nag"]["rules_to_suppress"]]
    assert [rule for rule in suppressed if "IAM4" in rule] == [
        "AwsSolutions::AwsSolutions-IAM4[Policy::arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess]"
    ]


def test_more_additional_policies_than_iam_attaches_are_refused():
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(InvalidSettingError, match=r"^additional_policies: expected at most 15 policies"):
        ParallelClusterApi(
            stack,
            "Api",
            function_role=FunctionRole.create(
                additional_policies=[
                    iam.ManagedPolicy.from_managed_policy_arn(stack, f"P{n}", f"arn:aws:iam::{ACCOUNT}:policy/p{n}")
                    for n in range(16)
                ]
            ),
        )


def test_fsx_s3_access_covers_the_buckets_and_their_objects():
    fsx = statements("fsx-buckets", "ParallelCluster API function - FSx")
    assert fsx["EnableFSxS3Access"]["Action"] == ["s3:Get*", "s3:List*", "s3:PutObject"]
    assert sorted(fsx["EnableFSxS3Access"]["Resource"]) == sorted(
        ["arn:aws:s3:::fsx-data-1", "arn:aws:s3:::fsx-data-2", "arn:aws:s3:::fsx-data-1/*", "arn:aws:s3:::fsx-data-2/*"]
    )
    assert "s3.data-source.lustre.fsx.amazonaws.com" in fsx["FSxS3PoliciesAttach"]["Resource"]
    assert statements("fsx-all-buckets", "ParallelCluster API function - FSx")["EnableFSxS3Access"]["Resource"] == "*"
    assert not any(d.startswith("ParallelCluster API function - FSx") for d in managed_policies("default"))


@pytest.mark.parametrize(("configuration", "prefix"), [("prefix", "pc-"), ("custom-domain-zone-prefix", "pc-"), ("locked-down", "hpc-")])
def test_prefix_starts_every_iam_role_and_policy_name(configuration, prefix):
    synthesized = synthesize(configuration)
    names = [render(r["Properties"]["RoleName"]) for r in synthesized.resources("AWS::IAM::Role").values()]
    assert all(len(name) <= 64 for name in names)
    names += [render(p["Properties"]["ManagedPolicyName"]) for p in synthesized.resources("AWS::IAM::ManagedPolicy").values()]
    names += [render(p["PolicyName"]) for r in synthesized.resources("AWS::IAM::Role").values() for p in r["Properties"].get("Policies", [])]
    assert names and all(name.startswith(prefix) for name in names), names


def test_a_given_function_role_gets_no_parallelcluster_policy():
    assert not any(d.startswith("ParallelCluster API function") for d in managed_policies("function-role"))


# --- Audit-driven options ------------------------------------------------------------------


def test_web_acl_kms_key_concurrency_and_allowed_principals():
    synthesized = synthesize("hardened")
    association = synthesized.only("AWS::WAFv2::WebACLAssociation")["Properties"]
    assert association["WebACLArn"].endswith(":regional/webacl/pcluster-api/0f4e7c52-1a2b-4c3d-9e8f-123456789abc")
    for log_group in synthesized.resources("AWS::Logs::LogGroup").values():
        assert log_group["Properties"]["KmsKeyId"].startswith(f"arn:aws:kms:{TEST_REGION}:{ACCOUNT}:key/")
    function = synthesized.template["Resources"]["ParallelClusterFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == 20
    policy = render(synthesized.only("AWS::ApiGateway::RestApi")["Properties"]["Policy"])["Statement"]
    allowed = [f"arn:aws:iam::{ACCOUNT}:role/ci-deployer", f"arn:aws:iam::{ACCOUNT}:role/portal"]
    (allow,) = [s for s in policy if s["Effect"] == "Allow"]
    assert sorted(allow["Principal"]["AWS"]) == allowed
    deny_unlisted, deny_other_accounts = [s for s in policy if s["Effect"] == "Deny"]
    assert set(allowed) <= set(deny_unlisted["Condition"]["ArnNotLike"]["aws:PrincipalArn"])
    # Roles of another account need AllowCrossAccountPrincipals: without it, they are denied.
    assert deny_other_accounts["Condition"] == {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}}


def test_cross_account_principals_are_admitted_only_when_chosen():
    other = "arn:aws:iam::210987654321:role/portal"
    statements_ = render(rest_api("cross-account-principal")["Policy"])["Statement"]
    (deny_other_accounts,) = [s for s in statements_ if "aws:PrincipalAccount" in json.dumps(s)]
    assert deny_other_accounts["Condition"] == {
        "StringNotEquals": {"aws:PrincipalAccount": ACCOUNT},
        "ArnNotLike": {"aws:PrincipalArn": [other]},
    }


def test_access_and_execution_logging_need_the_account_role():
    default = synthesize("default")
    stage = default.only("AWS::ApiGateway::Stage")
    (setting_id,) = default.resources("Custom::ApiGatewayAccountRole")
    assert setting_id in stage["DependsOn"]
    access = stage["Properties"]["AccessLogSetting"]
    assert json.loads(access["Format"])["requestId"] == "$context.requestId"
    existing = synthesize("account-role-existing")
    assert existing.resources("Custom::ApiGatewayAccountRole") == {}
    assert "AccessLogSetting" in existing.only("AWS::ApiGateway::Stage")["Properties"]
    none = synthesize("no-api-logging").only("AWS::ApiGateway::Stage")["Properties"]
    assert "AccessLogSetting" not in none and "LoggingLevel" not in none["MethodSettings"][0]
    for configuration in ("default", "account-role-existing", "no-api-logging"):
        assert synthesize(configuration).resources("AWS::ApiGateway::Account") == {}
