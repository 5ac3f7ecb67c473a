"""The API Gateway account's CloudWatch role: set where the account has none, never clobbered, never left dangling."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, CfnDeletionPolicy, Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib.audit import acknowledge, acknowledge_explained, policy_statement
from constructs_lib.conventions import Conventions
from constructs_lib.helper_function import TRACING_HAS_NO_RESOURCES, HelperFunction
from constructs_lib.l1 import l1

RUNTIME_DIR = Path(__file__).parent / "runtime"
# The IAM path of every role this construct offers to an account, followed by the Region: the
# setter finds the roles other stacks offered in its Region by this path (and may pass only those).
ROLE_PATH_PREFIX = "/parallelcluster-api/apigateway-account/"
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

    API Gateway logs through one role set in the account's settings, shared by every REST and
    WebSocket API of the account and Region. An account that already has one keeps it: a custom
    resource sets this construct's role only where the setting is empty, reading it again before
    every attempt so that it never overwrites a role set meanwhile. Once set, the role serves every
    API of the Region, so it may have to outlive the stack: CloudFormation retains it (it is deleted
    only in the rollback of the operation that created it), its permissions are part of it, and the
    custom resource decides at deletion: hand the setting over to a role another stack of this
    project offered, reset it when no other API logs, or leave both and say why. The role it
    deletes is only its own, and once it is gone it reads the setting again: stacks deleted at the
    same time never leave the account naming a role that no longer exists. See
    ``runtime/ensure_account_role.py``.

    Attributes: ``role`` (the role offered to the account, on the path ``role_path``),
    ``resource`` (the custom resource), ``account_role_arn`` (the role the account uses after
    deployment).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        conventions: Conventions,
    ) -> None:
        super().__init__(scope, construct_id)
        # One path per Region: a role may write logs in its own Region only, so it may be handed
        # the setting of that Region only.
        self.role_path = f"{ROLE_PATH_PREFIX}{Aws.REGION}/"
        push_logs = policy_statement(
            sid="PushApiLogs",
            actions=PUSH_TO_CLOUDWATCH_ACTIONS,
            resources=[f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"],
            why="The account role serves every API of the account and Region, whose execution and access log "
            "groups are named per API and stage; it is limited to this account's logs in this Region.",
        )
        self.role = iam.Role(
            self,
            "Role",
            # A new name with the new path: CloudFormation replaces a named role only under a new name.
            role_name=conventions.iam_name("ApiGatewayLogsRole"),
            path=self.role_path,
            description="Lets API Gateway write this account's API logs to CloudWatch Logs in this Region",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            # In the role, not in a policy resource of the stack, which would go with the stack
            # while the retained role may still serve other APIs.
            inline_policies={
                conventions.iam_name("PushApiLogs", default="PushApiLogs"): iam.PolicyDocument(
                    statements=[push_logs.statement]
                )
            },
        )
        role_resource = l1(self.role, iam.CfnRole)
        # Retained when the stack is deleted or the construct removed (the custom resource then
        # deletes the role if no API needs it); deleted in the rollback of the operation that
        # created it, which leaves nothing behind after a failed deployment. Replaced (a new path
        # or name): CloudFormation deletes the old role in the cleanup phase, after the custom
        # resource's Update moved the account's setting from the old role to the new one.
        role_resource.cfn_options.deletion_policy = CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE
        role_resource.cfn_options.update_replace_policy = CfnDeletionPolicy.DELETE
        acknowledge(
            self.role,
            "The role may serve every API of the Region after the stack is gone, so CloudFormation "
            "retains it; a separate policy would be deleted with the stack and break their logging, "
            "so the permissions are part of the role, which is deleted as a whole.",
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "HIPAA.Security-IAMNoInlinePolicy",
        )
        acknowledge_explained(self.role, [push_logs])

        apigateway = f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}:"
        offered_roles = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role{self.role_path}*"
        setter = HelperFunction(
            self,
            "Setter",
            source=RUNTIME_DIR / "ensure_account_role.py",
            description="Sets the API Gateway account's CloudWatch role where it has none; hands it over or resets it",
            # Room for the retries while IAM makes the new role usable by API Gateway, and for
            # reading the Region's API stages on deletion.
            timeout=Duration.minutes(5),
            conventions=conventions,
            statements=[
                policy_statement(
                    sid="ReadAndSetAccountRole",
                    actions=["apigateway:GET", "apigateway:PATCH"],
                    resources=[f"{apigateway}:/account"],
                ),
                policy_statement(
                    sid="ReadApiStages",
                    actions=["apigateway:GET"],
                    resources=[
                        f"{apigateway}:/restapis",
                        f"{apigateway}:/restapis/*/stages",
                        f"{apigateway}:/apis",
                        f"{apigateway}:/apis/*/stages",
                    ],
                    why="On deletion the setter checks whether any REST or WebSocket API of the Region logs "
                    "through the account's role; their ids are only known at run time, and it only reads their "
                    "stages.",
                ),
                policy_statement(
                    sid="FindOfferedRoles",
                    actions=["iam:ListRoles"],
                    resources=["*"],
                    why=f"{TRACING_HAS_NO_RESOURCES}. IAM's ListRoles has none either; the setter lists the roles "
                    "of one path, those other stacks of this project offered in this Region.",
                ),
                # UpdateAccount passes the role to API Gateway: this stack's, or another stack's on hand-over.
                policy_statement(
                    sid="PassOfferedRoles",
                    actions=["iam:PassRole"],
                    resources=[offered_roles],
                    why="On deletion the setter may hand the account's setting over to a role another stack of "
                    "this project offered in this Region, named only at run time; it may pass only the roles of "
                    "that dedicated path.",
                ),
                # Whether the role the setting names still exists (a deleted one counts as no role), and
                # whether an offered role does before the setting is handed over to it.
                policy_statement(
                    sid="CheckRoleExists",
                    actions=["iam:GetRole"],
                    resources=[f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/*"],
                    why="The account's setting may name any role of the account, known only at run time; the "
                    "setter only reads whether that role still exists, so that a setting naming a deleted role is "
                    "replaced rather than kept.",
                ),
                policy_statement(
                    sid="DeleteOwnRole",
                    actions=["iam:ListRolePolicies", "iam:DeleteRolePolicy", "iam:DeleteRole"],
                    resources=[self.role.role_arn],
                ),
            ],
        )
        self.resource = setter.custom_resource(
            "Setting",
            resource_type="Custom::ApiGatewayAccountRole",
            properties={"RoleArn": self.role.role_arn},
            service_timeout=Duration.minutes(10),
        )
        self.account_role_arn: str = self.resource.get_att_string("RoleArn")
