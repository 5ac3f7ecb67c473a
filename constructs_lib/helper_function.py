"""The small Python functions that serve the stack (image updates, cleanups, account settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.audit import acknowledge
from constructs_lib.managed_policy_role import ManagedPolicyRole

# The newest Python runtime Lambda offers; the helpers use the standard library and boto3 only.
HELPER_RUNTIME = lambda_.Runtime.PYTHON_3_14


class HelperFunction(Construct):
    """A Python function from a module beside the construct that deploys it.

    It runs with a role of its own (named with ``iam_name``) whose permissions live in a
    customer-managed policy, logs to a
    log group of its own (``log_group_factory``: retention and encryption of the caller), traces
    with X-Ray, and sends the events it failed to process to an encrypted dead-letter queue.
    Attributes: ``function``, ``role``, ``dead_letter_queue``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_directory: Path,
        handler: str,
        description: str,
        timeout: Duration,
        iam_name: Callable[[str], Optional[str]],
        log_group_factory: Callable[[Construct, str], logs.ILogGroup],
        environment: Optional[dict[str, str]] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # IAM names (with the caller's prefix, when it has one) derive from the construct id.
        self.role = ManagedPolicyRole(
            self,
            "Role",
            role_name=iam_name(f"ParallelClusterApi{construct_id}Role"),
            policy_name=iam_name(f"ParallelClusterApi{construct_id}Policy"),
            description=description,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.dead_letter_queue,
            "This queue is itself the dead-letter queue of a helper function; a queue behind it "
            "would only move the same failed events once more.",
            "Serverless-SQSRedrivePolicy",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=HELPER_RUNTIME,
            code=lambda_.Code.from_asset(str(code_directory), exclude=["__pycache__", "*.pyc"]),
            handler=handler,
            description=description,
            timeout=timeout,
            memory_size=128,
            role=self.role,
            environment=environment,
            log_group=log_group_factory(self, "Logs"),
            tracing=lambda_.Tracing.ACTIVE,
            dead_letter_queue=self.dead_letter_queue,
        )
        acknowledge(
            self.function,
            "A helper that acts only on this stack's own resources through public AWS endpoints; "
            "a VPC would add NAT gateways or endpoints and protect nothing it holds.",
            "NIST.800.53.R5-LambdaInsideVPC",
            "HIPAA.Security-LambdaInsideVPC",
        )
        acknowledge(
            self.function,
            "The helper runs a few times per stack operation or image build; reserving "
            "concurrency would take it from the account's pool and fails in new accounts whose "
            "limit is 10.",
            "NIST.800.53.R5-LambdaConcurrency",
            "HIPAA.Security-LambdaConcurrency",
        )

    def acknowledge_xray(self) -> None:
        """Acknowledge the one wildcard every helper role has: X-Ray writes on ``*``."""
        acknowledge(
            self.role.managed_policy,
            "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level "
            "permissions; the policy's other statements name this stack's resources.",
            "AwsSolutions-IAM5[Resource::*]",
        )
