"""How the API's resources are named and how its log groups are made: one small object, passed down."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, overload

from aws_cdk import Aws, Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.audit import acknowledge
from constructs_lib.flags import Flag
from constructs_lib.l1 import l1

# Days every log group of the API keeps its events, as AWS's template keeps the function's.
LOG_RETENTION_DAYS = 30


@dataclass(frozen=True)
class Conventions:
    """Names and log groups of one ParallelCluster API.

    :param prefix: Start of every IAM role and policy name (``IAMRoleAndPolicyPrefix``); empty
        for names that CloudFormation generates.
    :param stack_uuid: The UUID of the stack's id (a token): names built from it are unique per
        stack, and known before any resource exists.
    :param logs_key: KMS key of every log group, or ``None`` for CloudWatch Logs' own encryption.
    :param has_prefix: Whether there is a prefix (decided at deploy time in the portable template).
    :param has_logs_key: Whether log groups use ``logs_key`` (likewise).
    """

    prefix: str
    stack_uuid: str
    logs_key: kms.IKey | None = None
    has_prefix: Flag = field(default_factory=lambda: Flag(False))
    has_logs_key: Flag = field(default_factory=lambda: Flag(False))

    @classmethod
    def of(cls, scope: Construct, *, prefix: str, logs_key: kms.IKey | None) -> Conventions:
        """The conventions of a construct in ``scope``'s stack, with choices known at synth time."""
        return cls(
            prefix=prefix,
            stack_uuid=Fn.select(2, Fn.split("/", Stack.of(scope).stack_id)),
            logs_key=logs_key,
            has_prefix=Flag(bool(prefix)),
            has_logs_key=Flag(logs_key is not None),
        )

    @property
    def stack_id_suffix(self) -> str:
        """The first group of the stack's UUID, as the official template suffixes its names."""
        return Fn.select(0, Fn.split("-", self.stack_uuid))

    def stack_scoped_name(self, base: str) -> str:
        """``<prefix><base>-<first group of the stack's UUID>``, as AWS's template names its roles.

        The prefix may be empty: AWS's template gives such a role this name either way, so a role
        named like this keeps its name (and ARN) when a stack moves from AWS's template to ours.
        """
        return Fn.join("", [self.prefixed(f"{base}-"), self.stack_id_suffix])

    def prefixed(self, base: str) -> str:
        """``base`` after the prefix (which may be empty, or a value known at deploy time)."""
        if Token.is_unresolved(self.prefix):
            return Fn.join("", [self.prefix, base])
        return f"{self.prefix}{base}"

    @overload
    def iam_name(self, base: str) -> str | None: ...

    @overload
    def iam_name(self, base: str, *, default: str) -> str: ...

    def iam_name(self, base: str, *, default: str | None = None) -> str | None:
        """With a prefix, an explicit name that starts with it; else ``default`` (``None``: CloudFormation's own)."""
        if not self.has_prefix.possible:
            return default
        name = self.stack_scoped_name(base)
        if self.has_prefix.known:
            return name
        return Token.as_string(self.has_prefix.pick(name, Aws.NO_VALUE if default is None else default))

    def log_group(self, scope: Construct, construct_id: str, **props: Any) -> logs.LogGroup:
        """A log group: 30 days, deleted with the stack, encrypted with ``logs_key`` when given."""
        return self.configure_log_group(logs.LogGroup(scope, construct_id, **props))

    def configure_log_group(self, log_group: logs.LogGroup) -> logs.LogGroup:
        """Give a log group made elsewhere (CDK makes the API function's) what :meth:`log_group` gives."""
        cfn_log_group = l1(log_group, logs.CfnLogGroup)
        cfn_log_group.retention_in_days = LOG_RETENTION_DAYS
        log_group.apply_removal_policy(RemovalPolicy.DESTROY)
        if self.has_logs_key.possible:
            assert self.logs_key is not None
            cfn_log_group.kms_key_id = self.has_logs_key.optional(self.logs_key.key_arn)
        if not self.has_logs_key.certain:
            acknowledge(
                log_group,
                "CloudWatch Logs encrypts every log group at rest with its own keys; a customer "
                "managed key is optional (LogsKmsKeyArn) because its key policy is the account's.",
                "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
                "HIPAA.Security-CloudWatchLogGroupEncrypted",
            )
        return log_group
