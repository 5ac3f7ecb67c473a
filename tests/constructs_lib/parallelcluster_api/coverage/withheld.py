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
_CLEANUP_ROLE_WITHOUT_BOUNDARY = (
    "PermissionsBoundaryPolicy: the function may only create and change roles that carry the boundary, "
    "and the release creates its shared build-image cleanup role without one "
    "(imagebuilder_utils.ensure_default_build_image_stack_cleanup_role). build-image then needs "
    "Build/Iam/CleanupLambdaRole, or that role created once by an administrator with the boundary."
)
_SECRET_VALUES = (
    "Reading secret values would let the function read every secret of the account. The munge key "
    "validator (validators/secret_validators.py) turns AccessDeniedException into a warning "
    "(validators/common.py:handle_arn_aws_client_error), and the cluster's head node, whose role the "
    "configuration grants, reads the key itself."
)
_SSM_PARAMETER = (
    "The directory service validator reads an SSM parameter only for PasswordSecretArn in us-isob-east-1 "
    "(validators/directory_service_validators.py), an isolated partition this project does not target; "
    "granting GetParameter would expose every parameter's value, SecureStrings included."
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


_CLEANUP_ROLE_CALLS = (
    ("iam:CreateRole", "IamClient.create_role"),
    ("iam:AttachRolePolicy", "IamClient.attach_role_policy"),
    ("iam:PutRolePolicy", "IamClient.put_role_policy"),
    ("iam:TagRole", "IamClient.tag_role"),
)
WITHHELD: tuple[Withheld, ...] = (
    *(
        Withheld(action, _WITHOUT_IAM_ADMIN, frozenset({"no-iam-admin", "no-boundary"}), frozenset({wrapper}))
        for action, wrapper in _CLEANUP_ROLE_CALLS
    ),
    # TagRole carries no boundary condition (the official IamRole statement), so it is granted.
    *(
        Withheld(action, _CLEANUP_ROLE_WITHOUT_BOUNDARY, frozenset({"boundary"}), frozenset({wrapper}))
        for action, wrapper in _CLEANUP_ROLE_CALLS
        if action != "iam:TagRole"
    ),
    Withheld("secretsmanager:GetSecretValue", _SECRET_VALUES, wrappers=frozenset({"SecretsManagerClient.get_secret_value"})),
    Withheld("ssm:GetParameter", _SSM_PARAMETER, wrappers=frozenset({"SsmClient.get_parameter"})),
)


def configuration_kinds(context: Mapping[str, str]) -> frozenset[str]:
    """The kinds of a configuration, from its CDK context (cdk.json defaults plus its own keys)."""
    kinds = {"iam-admin" if str(context.get("EnableIamAdminAccess", "false")).lower() == "true" else "no-iam-admin"}
    kinds.add("boundary" if context.get("PermissionsBoundaryPolicy") else "no-boundary")
    if context.get("Region", "*") != "*":
        kinds.add("single-region")
    return frozenset(kinds)


def withheld(action: str, kinds: frozenset[str], wrapper: str) -> bool:
    return any(entry.covers(action, kinds, wrapper) for entry in WITHHELD)
