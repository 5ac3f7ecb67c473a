"""How the API's resources are named and how its log groups are made: one small object, passed down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Fn, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.audit import acknowledge

LOG_RETENTION = logs.RetentionDays.ONE_MONTH


@dataclass(frozen=True)
class Conventions:
    """Names and log groups of one ParallelCluster API.

    :param prefix: Start of every IAM role and policy name (``IAMRoleAndPolicyPrefix``); empty
        for names that CloudFormation generates.
    :param stack_uuid: The UUID of the stack's id (a token): names built from it are unique per
        stack, and known before any resource exists.
    :param logs_key: KMS key of every log group, or ``None`` for CloudWatch Logs' own encryption.
    """

    prefix: str
    stack_uuid: str
    logs_key: kms.IKey | None = None

    @classmethod
    def of(cls, scope: Construct, *, prefix: str, logs_key: kms.IKey | None) -> Conventions:
        """The conventions of a construct in ``scope``'s stack."""
        return cls(prefix=prefix, stack_uuid=Fn.select(2, Fn.split("/", Stack.of(scope).stack_id)), logs_key=logs_key)

    @property
    def stack_id_suffix(self) -> str:
        """The first group of the stack's UUID, as the official template suffixes its names."""
        return Fn.select(0, Fn.split("-", self.stack_uuid))

    def iam_name(self, base: str) -> str | None:
        """With a prefix, an explicit name that starts with it; else CloudFormation's own."""
        if not self.prefix:
            return None
        return Fn.join("", [f"{self.prefix}{base}-", self.stack_id_suffix])

    def log_group(self, scope: Construct, construct_id: str, **props: Any) -> logs.LogGroup:
        """A log group: 30 days, deleted with the stack, encrypted with ``logs_key`` when given."""
        log_group = logs.LogGroup(
            scope,
            construct_id,
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
            encryption_key=self.logs_key,
            **props,
        )
        if self.logs_key is None:
            acknowledge(
                log_group,
                "CloudWatch Logs encrypts every log group at rest with its own keys; a customer "
                "managed key is optional (LogsKmsKeyArn) because its key policy is the account's.",
                "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
                "HIPAA.Security-CloudWatchLogGroupEncrypted",
            )
        return log_group
