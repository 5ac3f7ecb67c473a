"""ManagedPolicyRole: what CDK grants to a role lands in a customer-managed policy."""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from constructs_lib.managed_policy_role import ManagedPolicyRole


def test_grants_go_to_one_managed_policy_and_never_inline():
    app = cdk.App()
    stack = cdk.Stack(app, "S")
    role = ManagedPolicyRole(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), policy_name="named")
    logs.LogGroup(stack, "Logs").grant_write(role)
    sqs.Queue(stack, "Queue").grant_send_messages(role)
    template = app.synth().get_stack_by_name("S").template
    types = [r["Type"] for r in template["Resources"].values()]
    assert "AWS::IAM::Policy" not in types
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert policy["Properties"]["ManagedPolicyName"] == "named"
    actions = [a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in s["Action"]]
    assert "logs:PutLogEvents" in actions and "sqs:SendMessage" in actions


def test_no_policy_without_grants():
    app = cdk.App()
    stack = cdk.Stack(app, "S")
    role = ManagedPolicyRole(stack, "Role", assumed_by=iam.AccountRootPrincipal())
    assert role.managed_policy is None
    template = app.synth().get_stack_by_name("S").template
    assert [r["Type"] for r in template["Resources"].values()] == ["AWS::IAM::Role"]
