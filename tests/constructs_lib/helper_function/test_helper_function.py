"""HelperFunction: one declaration for a helper, its policy (each reason beside its statement) and its custom resource."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Aws, Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from constructs_lib.audit import policy_statement
from constructs_lib.conventions import Conventions
from constructs_lib.helper_function import TRACING_HAS_NO_RESOURCES, HelperFunction
from constructs_lib.l1 import l1
from tests.conftest import ROOT

SOURCE = ROOT / "constructs_lib" / "api_image" / "runtime" / "ensure_service_linked_role.py"
BUCKETS = f"arn:{Aws.PARTITION}:s3:::widget-*"


def helper(**statements: Any) -> tuple[cdk.Stack, HelperFunction]:
    stack = cdk.Stack(cdk.App(), "S")
    made = HelperFunction(
        stack, "Widget", source=SOURCE, description="Makes widgets", timeout=Duration.minutes(1),
        conventions=Conventions.of(stack, prefix="", logs_key=None), **statements,
    )
    return stack, made


def acknowledged(made: HelperFunction) -> dict[str, str]:
    """The policy's acknowledgements: rule id to reason."""
    found: dict[str, str] = {}
    for entry in made.role.policy.node.metadata:
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
            found.update({rule.split("::", 1)[1]: reason for rule, reason in entry.data.items()})
    return found


def test_the_statements_go_into_the_helpers_managed_policy_with_their_reasons() -> None:
    why = "Widgets are named at run time under widget-; the wildcard covers those buckets only."
    queue = f"arn:{Aws.PARTITION}:sqs:{Aws.REGION}:{Aws.ACCOUNT_ID}:widgets"
    stack, made = helper(statements=[
        policy_statement(sid="ReadWidgets", actions=["s3:GetObject"], resources=[BUCKETS], why=why),
        policy_statement(actions=["sqs:GetQueueUrl"], resources=[queue]),
    ])

    statements = stack.resolve(made.role.policy.document.to_json())["Statement"]
    # After what the function itself needs (X-Ray, its dead-letter queue).
    assert [(statement.get("Sid"), statement["Action"]) for statement in statements[-2:]] == [
        ("ReadWidgets", "s3:GetObject"), (None, "sqs:GetQueueUrl")
    ]
    assert acknowledged(made) == {
        # Tracing's writes are the only statement on every resource.
        "AwsSolutions-IAM5[Resource::*]": f"{TRACING_HAS_NO_RESOURCES}; the policy's other statements name this stack's resources.",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::widget-*]": why,
    }


def test_a_statement_on_every_resource_explains_the_finding_it_shares_with_tracing() -> None:
    why = "X-Ray's writes and SQS's ListQueues have no resource-level permissions; the helper only lists queues."
    _, made = helper(statements=[policy_statement(actions=["sqs:ListQueues"], resources=["*"], why=why)])

    assert acknowledged(made) == {"AwsSolutions-IAM5[Resource::*]": why}


@pytest.mark.parametrize("resources", [["*"], [BUCKETS]], ids=["every resource", "a wildcard"])
def test_a_wildcard_without_its_reason_is_refused(resources: list[str]) -> None:
    with pytest.raises((ValueError, KeyError), match="reason"):
        helper(statements=[policy_statement(sid="Unexplained", actions=["s3:GetObject"], resources=resources)])


def test_the_custom_resource_it_serves_is_made_beside_it() -> None:
    stack, made = helper()

    resource = made.custom_resource(
        "Widgets", resource_type="Custom::Widgets", properties={"Size": "3"}, service_timeout=Duration.minutes(5)
    )

    assert resource.node.scope is stack
    resources = Template.from_stack(stack).find_resources("Custom::Widgets")
    (custom,) = resources.values()
    function_id = stack.get_logical_id(l1(made.function, lambda_.CfnFunction))
    assert custom["Properties"] == {"ServiceToken": {"Fn::GetAtt": [function_id, "Arn"]}, "Size": "3", "ServiceTimeout": "300"}
