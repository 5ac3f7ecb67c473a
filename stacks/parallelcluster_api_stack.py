"""The stack that replaces the official ParallelCluster API template."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Aws, CfnOutput, Environment, Stack
from constructs import Construct

from constructs_lib import ParallelClusterApi
from stacks.settings import Settings


class ParallelClusterApiStack(Stack):
    """The ParallelCluster API with the official template's outputs.

    The outputs keep the official names (and export names), so the ``describe-stacks`` commands
    of the ParallelCluster documentation work unchanged.
    """

    @classmethod
    def from_app_context(cls, app: App, *, env: Environment) -> "ParallelClusterApiStack":
        """The stack that the app's CDK context describes (see :class:`Settings`)."""
        return cls(app, settings=Settings.from_context(app.node.get_all_context()), env=env)

    def __init__(self, scope: Construct, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            scope,
            settings.stack_name,
            stack_name=settings.stack_name,
            description=f"AWS ParallelCluster API {settings.parallelcluster_version}",
            **kwargs,
        )
        self.api = ParallelClusterApi(self, "Api", **settings.construct_props())

        CfnOutput(
            self,
            "ParallelClusterApiInvokeUrl",
            description="URL to reach the API endpoint",
            value=self.api.invoke_url,
            export_name=f"{Aws.STACK_NAME}-ParallelClusterApiInvokeUrl",
        )
        if self.api.api_user_role is not None:
            CfnOutput(
                self,
                "ParallelClusterApiUserRole",
                description="IAM role with permissions to invoke the ParallelCluster API",
                value=self.api.api_user_role.role_arn,
                export_name=f"{Aws.STACK_NAME}-ParallelClusterApiUserRole",
            )
        CfnOutput(
            self,
            "ParallelClusterLambdaArn",
            description="ARN of the ParallelCluster Lambda function",
            value=self.api.function.function_arn,
        )
        CfnOutput(
            self,
            "ParallelClusterLambdaLogGroup",
            description="Log group of the Lambda function implementing the ParallelCluster API",
            value=self.api.log_group.log_group_name,
        )
