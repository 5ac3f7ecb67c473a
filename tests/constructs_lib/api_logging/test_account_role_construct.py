"""ApiGatewayAccountRole in the template: a role for API Gateway and a setter that may only set it."""

from __future__ import annotations

from tests.conftest import ACCOUNT, TEST_REGION, render


def test_the_offered_role_is_api_gateways_and_writes_logs_only(default):
    (setting,) = default.resources("Custom::ApiGatewayAccountRole").values()
    role_id = setting["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    role = default.template["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}
    (policy,) = [
        p for p in default.resources("AWS::IAM::ManagedPolicy").values() if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    (statement,) = render(policy["Properties"]["PolicyDocument"]["Statement"])
    assert all(action.startswith("logs:") for action in statement["Action"])
    assert statement["Resource"] == f"arn:aws:logs:{TEST_REGION}:{ACCOUNT}:*"


def test_the_setter_may_read_and_patch_the_account_and_pass_only_that_role(default):
    (setting,) = default.resources("Custom::ApiGatewayAccountRole").values()
    role_id = setting["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    setter_id = setting["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    setter = default.template["Resources"][setter_id]["Properties"]
    assert setter == default.helper_function("api_logging", "ensure_account_role")["Properties"]
    setter_role = setter["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        p for p in default.resources("AWS::IAM::ManagedPolicy").values() if {"Ref": setter_role} in p["Properties"]["Roles"]
    ]
    statements = render(policy["Properties"]["PolicyDocument"]["Statement"])
    by_action = {tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],): s["Resource"] for s in statements}
    assert by_action[("apigateway:GET", "apigateway:PATCH")] == f"arn:aws:apigateway:{TEST_REGION}::/account"
    assert by_action[("iam:PassRole",)] == f"<{role_id}.Arn>"
    assert setting["Properties"]["ServiceTimeout"] == "600"
