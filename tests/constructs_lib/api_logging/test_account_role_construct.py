"""ApiGatewayAccountRole in the template: a retained role for API Gateway, and a setter that may touch only that."""

from __future__ import annotations

from fnmatch import fnmatchcase

from tests.conftest import ACCOUNT, TEST_REGION, render, synthesize
from tests.constructs_lib.helper_function.runtime_support import load_runtime

# The logical ids of the stacks already deployed: a new id would replace the custom resource
# (its Delete would reset the account's role) and orphan the role.
ROLE_ID = "ApiAccountRoleA857F210"
SETTING_ID = "ApiAccountRoleSettingE65A65CF"
ROLE_PATH = f"/parallelcluster-api/apigateway-account/{TEST_REGION}/"


def setter_statements(synthesized) -> dict[str, dict]:
    setting = synthesized.template["Resources"][SETTING_ID]["Properties"]
    setter_role = synthesized.template["Resources"][setting["ServiceToken"]["Fn::GetAtt"][0]]["Properties"]["Role"]
    (policy,) = [
        p for p in synthesized.resources("AWS::IAM::ManagedPolicy").values()
        if {"Ref": setter_role["Fn::GetAtt"][0]} in p["Properties"]["Roles"]
    ]
    return {s.get("Sid", s["Action"] if isinstance(s["Action"], str) else s["Action"][0]): s
            for s in render(policy["Properties"]["PolicyDocument"]["Statement"])}


def test_the_offered_role_keeps_its_logical_id_and_outlives_the_stack(default):
    (setting_id,) = default.resources("Custom::ApiGatewayAccountRole")
    assert setting_id == SETTING_ID
    assert default.template["Resources"][SETTING_ID]["Properties"]["RoleArn"] == {"Fn::GetAtt": [ROLE_ID, "Arn"]}
    role = default.template["Resources"][ROLE_ID]
    # Kept when the stack goes (the custom resource decides), deleted in the rollback of the
    # operation that created it; a replaced role is deleted after the setting moved to the new one.
    assert (role["DeletionPolicy"], role["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Delete")
    assert render(role["Properties"]["Path"]) == ROLE_PATH


def test_the_offered_role_is_api_gateways_and_holds_its_permissions(default):
    role = default.template["Resources"][ROLE_ID]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}}
    ]
    (policy,) = role["Policies"]
    (statement,) = render(policy["PolicyDocument"]["Statement"])
    assert all(action.startswith("logs:") for action in statement["Action"])
    assert statement["Resource"] == f"arn:aws:logs:{TEST_REGION}:{ACCOUNT}:*"
    # No policy resource of the stack serves it: one would be deleted with the stack.
    for policy_type, key in (("AWS::IAM::ManagedPolicy", "Roles"), ("AWS::IAM::Policy", "Roles")):
        for resource in default.resources(policy_type).values():
            assert {"Ref": ROLE_ID} not in resource["Properties"].get(key, [])


def test_the_setter_may_touch_the_account_the_stages_and_the_offered_roles_only(default):
    statements = setter_statements(default)
    apigateway = f"arn:aws:apigateway:{TEST_REGION}::"
    assert statements["ReadAndSetAccountRole"]["Action"] == ["apigateway:GET", "apigateway:PATCH"]
    assert statements["ReadAndSetAccountRole"]["Resource"] == f"{apigateway}/account"
    assert statements["ReadApiStages"]["Action"] == "apigateway:GET"
    assert sorted(statements["ReadApiStages"]["Resource"]) == [
        f"{apigateway}/apis", f"{apigateway}/apis/*/stages", f"{apigateway}/restapis", f"{apigateway}/restapis/*/stages"
    ]
    find = statements["FindOfferedRoles"]
    assert (find["Action"], find["Resource"]) == ("iam:ListRoles", "*")
    assert statements["PassOfferedRoles"]["Action"] == "iam:PassRole"
    assert statements["PassOfferedRoles"]["Resource"] == f"arn:aws:iam::{ACCOUNT}:role{ROLE_PATH}*"
    assert statements["DeleteOwnRole"]["Action"] == ["iam:DeleteRole", "iam:DeleteRolePolicy", "iam:ListRolePolicies"]
    assert statements["DeleteOwnRole"]["Resource"] == f"<{ROLE_ID}.Arn>"
    # Reading whether a role exists (the one the setting names may be anybody's), nothing more.
    check = statements["CheckRoleExists"]
    assert (check["Action"], check["Resource"]) == ("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/*")
    actions = [a for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert {a for a in actions if a.startswith("iam:")} == {
        "iam:ListRoles", "iam:PassRole", "iam:GetRole", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:ListRolePolicies"
    }
    setting = default.template["Resources"][SETTING_ID]["Properties"]
    setter = default.template["Resources"][setting["ServiceToken"]["Fn::GetAtt"][0]]["Properties"]
    assert setter == default.helper_function("api_logging", "ensure_account_role")["Properties"]
    assert (setting["ServiceTimeout"], setter["Timeout"]) == ("600", 300)


def test_the_runtime_finds_roles_by_the_path_the_construct_gives_them(default):
    """The handler derives the path from RoleArn; the setter may pass exactly the roles of that path."""
    module = load_runtime("api_logging", "ensure_account_role")
    path = render(default.template["Resources"][ROLE_ID]["Properties"]["Path"])
    arn = f"arn:aws:iam::{ACCOUNT}:role{path}ParallelClusterApi-ApiAccountRoleA857F210-7LmQx2Rt9ZpK"  # as IAM names it
    assert module._path_and_name(arn) == (path, "ParallelClusterApi-ApiAccountRoleA857F210-7LmQx2Rt9ZpK")
    may_pass = setter_statements(default)["PassOfferedRoles"]["Resource"]
    assert fnmatchcase(arn, may_pass)
    assert not fnmatchcase(arn.replace(TEST_REGION, "us-east-1"), may_pass)
    assert not fnmatchcase(f"arn:aws:iam::{ACCOUNT}:role/APIGatewayToCloudWatchLogs", may_pass)


def test_a_named_role_gets_a_new_name_with_its_new_path():
    """CloudFormation replaces a role with a custom name only under a new name: the path change needs one."""
    role = synthesize("locked-down").template["Resources"][ROLE_ID]["Properties"]
    name = render(role["RoleName"])
    assert name.startswith("hpc-") and len(name) <= 64
    assert name != "hpc-ApiGatewayCloudWatchRole-8131d980"  # the name of the previous release, on the path "/"
