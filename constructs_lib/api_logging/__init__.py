"""The API Gateway account's CloudWatch role, set only where the account has none."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from aws_cdk import Aws, CustomResource, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.audit import acknowledge
from constructs_lib.helper_function import HelperFunction

RUNTIME_DIR = Path(__file__).parent / "runtime"
# What API Gateway does with the account role: create log groups and streams and write events
# (the actions of the AWS managed policy AmazonAPIGatewayPushToCloudWatchLogs).
PUSH_TO_CLOUDWATCH_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
)


class ApiGatewayAccountRole(Construct):
    """Makes sure API Gateway may write CloudWatch logs in this account and Region.

    API Gateway logs through one role set in the account's settings, shared by every API of the
    account and Region. An account that already has one keeps it: a custom resource sets this
    construct's role only where the setting is empty, and on deletion resets the setting only if
    it still names this role. Attributes: ``role`` (the role offered to the account),
    ``account_role_arn`` (the role the account uses after deployment).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        iam_name: Callable[[str], Optional[str]],
        log_group_factory: Callable[[Construct, str], logs.ILogGroup],
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=iam_name("ApiGatewayCloudWatchRole"),
            description="Lets API Gateway write this account's API logs to CloudWatch Logs",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        )
        push_logs = iam.ManagedPolicy(
            self,
            "PushLogs",
            managed_policy_name=iam_name("ApiGatewayCloudWatchPolicy"),
            description="API Gateway account role - write API logs to CloudWatch Logs",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="PushApiLogs",
                    actions=list(PUSH_TO_CLOUDWATCH_ACTIONS),
                    resources=[f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"],
                )
            ],
        )
        acknowledge(
            push_logs,
            "The account role serves every API of the account and Region, whose execution and "
            "access log groups are named per API and stage; it is limited to this account's logs "
            "in this Region.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:*]",
        )

        setter = HelperFunction(
            self,
            "Setter",
            source=RUNTIME_DIR / "ensure_account_role.py",
            description="Sets the API Gateway account's CloudWatch role where it has none",
            # Room for the retries while IAM makes the new role usable by API Gateway.
            timeout=Duration.minutes(5),
            iam_name=iam_name,
            log_group_factory=log_group_factory,
        )
        account = f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}::/account"
        setter.function.add_to_role_policy(
            iam.PolicyStatement(actions=["apigateway:GET", "apigateway:PATCH"], resources=[account])
        )
        # UpdateAccount passes the role to API Gateway.
        setter.function.add_to_role_policy(
            iam.PolicyStatement(actions=["iam:PassRole"], resources=[self.role.role_arn])
        )
        setter.acknowledge_xray()
        self.resource = CustomResource(
            self,
            "Setting",
            service_token=setter.function.function_arn,
            resource_type="Custom::ApiGatewayAccountRole",
            properties={"RoleArn": self.role.role_arn},
            service_timeout=Duration.minutes(10),
        )
        self.resource.node.add_dependency(push_logs)
        self.account_role_arn: str = self.resource.get_att_string("RoleArn")
