"""Calls of the release that the function's policies withhold on purpose, for the lead to review.

Each entry names an IAM action, the configurations it is withheld in (all the listed kinds must
apply: ``iam-admin``/``no-iam-admin``, ``boundary``, ``single-region``), optionally the release's
wrappers it is limited to, and why. The coverage check accepts a denied authorization only when an
entry here covers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

_WITHOUT_IAM_ADMIN = (
    "EnableIamAdminAccess=false: the function creates and changes no IAM role (the official template's "
    "documented behavior). build-image then needs the image configuration to name an existing cleanup "
    "role (Build/Iam/CleanupLambdaRole), which makes the release skip "
    "ensure_default_build_image_stack_cleanup_role (pcluster/api/controllers/image_operations_controller.py)."
)


@dataclass(frozen=True)
class Withheld:
    action: str
    reason: str
    kinds: frozenset[str] = frozenset()
    wrappers: frozenset[str] = frozenset()

    def covers(self, action: str, kinds: frozenset[str], wrapper: str) -> bool:
        return (
            action.lower() == self.action.lower()
            and self.kinds <= kinds
            and (not self.wrappers or wrapper in self.wrappers)
        )


WITHHELD: tuple[Withheld, ...] = tuple(
    Withheld(action, _WITHOUT_IAM_ADMIN, frozenset({"no-iam-admin"}), frozenset({wrapper}))
    for action, wrapper in (
        ("iam:CreateRole", "IamClient.create_role"),
        ("iam:AttachRolePolicy", "IamClient.attach_role_policy"),
        ("iam:PutRolePolicy", "IamClient.put_role_policy"),
        ("iam:TagRole", "IamClient.tag_role"),
    )
)


def configuration_kinds(context: Mapping[str, str]) -> frozenset[str]:
    """The kinds of a configuration, from its CDK context (cdk.json defaults plus its own keys)."""
    kinds = {"iam-admin" if str(context.get("EnableIamAdminAccess", "false")).lower() == "true" else "no-iam-admin"}
    if context.get("PermissionsBoundaryPolicy"):
        kinds.add("boundary")
    if context.get("Region", "*") != "*":
        kinds.add("single-region")
    return frozenset(kinds)


def withheld(action: str, kinds: frozenset[str], wrapper: str) -> bool:
    return any(entry.covers(action, kinds, wrapper) for entry in WITHHELD)
