"""An IAM role whose permissions live in a customer-managed policy, never in an inline policy."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from constructs import Construct


class ManagedPolicyRole(iam.Role):
    """A role that keeps every statement granted to it in its own customer-managed policy.

    CDK grants (``grant_write``, tracing, dead-letter queues, ...) add statements to a role's
    default inline policy; compliance packs such as NIST 800-53 and HIPAA ask for managed
    policies instead, which can be reviewed, versioned and reused on their own. The policy is
    created on the first statement and named after the role (with ``policy_name``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        policy_name: str | None = None,
        policy_scope: Construct | None = None,
        **role_props: Any,
    ) -> None:
        """:param policy_scope: Where the policy is made. Default: under the role, so that whatever
            depends on the role (a function) waits for its permissions; beside it when a statement
            names something that depends on the role (the function's own log group)."""
        super().__init__(scope, construct_id, **role_props)
        self._policy_name = policy_name
        self._policy_scope = policy_scope
        self.managed_policy: iam.ManagedPolicy | None = None

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        if self.managed_policy is None:
            self.managed_policy = iam.ManagedPolicy(
                self._policy_scope or self,
                f"{self.node.id}Policy" if self._policy_scope else "Policy",
                managed_policy_name=self._policy_name,
                description=f"Permissions of {self.node.path}",
                roles=[self],
            )
        self.managed_policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.managed_policy)

    @property
    def policy(self) -> iam.ManagedPolicy:
        """The role's managed policy; it exists once a statement was granted to the role."""
        if self.managed_policy is None:
            raise ValueError(f"{self.node.path} has no statement yet, so no managed policy")
        return self.managed_policy
