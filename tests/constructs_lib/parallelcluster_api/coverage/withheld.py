"""What the release may need that the function's policies withhold on purpose, each with its reason.

Each entry names an IAM action (or a pattern such as ``ssm:Get*``), the configurations it is withheld
in (all the listed kinds must apply: ``iam-admin``/``no-iam-admin``, ``boundary``/``no-boundary``,
``single-region``), and where it applies: the release's wrappers (static calls), the operations the
handler made (recorded calls, ``service.Operation``), or the resource types whose CloudFormation
handlers need it; an entry that names none applies everywhere. The coverage checks accept a denied
authorization only when an entry here covers it. This list is what the README's table of what each
configuration lets the API do rests on.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

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
    operations: frozenset[str] = frozenset()
    resource_types: frozenset[str] = frozenset()

    def covers(
        self,
        action: str,
        kinds: frozenset[str],
        *,
        wrapper: str | None = None,
        operation: str | None = None,
        resource_type: str | None = None,
    ) -> bool:
        if not fnmatch.fnmatchcase(action.lower(), self.action.lower()) or not self.kinds <= kinds:
            return False
        named = [(allowed, value) for allowed, value in (
            (self.wrappers, wrapper), (self.operations, operation), (self.resource_types, resource_type)
        ) if allowed]
        return not named or any(value in allowed for allowed, value in named)


_ROLES_OF_CONFIGURATIONS = (
    "EnableIamAdminAccess=false: the function creates and changes no IAM role, so cluster and image "
    "configurations name existing roles and instance profiles (HeadNode/Iam/InstanceRole, "
    "Scheduling/SlurmQueues/Iam/InstanceProfile, Build/Iam/InstanceRole...), and the release's templates "
    "then hold no IAM role or policy (the official template's documented behavior)."
)
_USER_SCRIPTS = (
    "Custom action scripts live in the user's own buckets: the URL validator (validators/s3_validators.py) "
    "turns a refused HeadObject into a warning, and the cluster's nodes read them with their own role "
    "(S3Access). Read access for the function, when wanted, is ParallelClusterFunctionAdditionalPolicies."
)
_UNUSED_BY_LOGIN_NODES = (
    "CloudFormation's Auto Scaling group handler lists these for launch templates that resolve their AMI "
    "from SSM parameters (ssm:Get*), attribute-based instance selection (ec2:Get*) and managed fleets "
    "(not in the Service Authorization Reference this check reads); the release's login node group names "
    "its launch template's AMI id and instance type, and the official policies, with which ParallelCluster's "
    "API integration tests create login nodes, grant none of them."
)
_TABLE_REPLICAS = (
    "CloudFormation's DynamoDB table handler lists these for global table replicas and the service-linked "
    "roles of replication and Kinesis streaming; the release's tables are single-Region without streams, "
    "and the official policies grant none of them."
)
_RUNTIME_ALIAS = (
    "CloudFormation's Lambda function handler lists it for runtime management, which the release's "
    "functions do not configure; the official policies do not grant it."
)
_CLEANUP_ROLE_CALLS = (
    ("iam:CreateRole", "IamClient.create_role", "iam.CreateRole"),
    ("iam:AttachRolePolicy", "IamClient.attach_role_policy", "iam.AttachRolePolicy"),
    ("iam:PutRolePolicy", "IamClient.put_role_policy", "iam.PutRolePolicy"),
    ("iam:TagRole", "IamClient.tag_role", "iam.TagRole"),
)
WITHHELD: tuple[Withheld, ...] = (
    *(
        Withheld(
            action, _WITHOUT_IAM_ADMIN, frozenset({"no-iam-admin", "no-boundary"}), frozenset({wrapper}), frozenset({operation})
        )
        for action, wrapper, operation in _CLEANUP_ROLE_CALLS
    ),
    # TagRole carries no boundary condition (the official IamRole statement), so it is granted.
    *(
        Withheld(action, _CLEANUP_ROLE_WITHOUT_BOUNDARY, frozenset({"boundary"}), frozenset({wrapper}), frozenset({operation}))
        for action, wrapper, operation in _CLEANUP_ROLE_CALLS
        if action != "iam:TagRole"
    ),
    Withheld(
        "iam:*",
        _ROLES_OF_CONFIGURATIONS,
        frozenset({"no-iam-admin", "no-boundary"}),
        resource_types=frozenset({"AWS::IAM::Role", "AWS::IAM::Policy"}),
    ),
    Withheld("secretsmanager:GetSecretValue", _SECRET_VALUES, wrappers=frozenset({"SecretsManagerClient.get_secret_value"})),
    Withheld("ssm:GetParameter", _SSM_PARAMETER, wrappers=frozenset({"SsmClient.get_parameter"})),
    Withheld("s3:GetObject", _USER_SCRIPTS, operations=frozenset({"s3.HeadObject"})),
    *(
        Withheld(pattern, _UNUSED_BY_LOGIN_NODES, resource_types=frozenset({"AWS::AutoScaling::AutoScalingGroup"}))
        for pattern in ("ssm:Get*", "ec2:Get*", "managed-fleets:*")
    ),
    *(
        Withheld(action, _TABLE_REPLICAS, resource_types=frozenset({"AWS::DynamoDB::Table"}))
        for action in ("dynamodb:CreateTableReplica", "dynamodb:AssociateTableReplica", "iam:CreateServiceLinkedRole")
    ),
    Withheld("lambda:AssociateRuntimeAlias", _RUNTIME_ALIAS, resource_types=frozenset({"AWS::Lambda::Function"})),
)


def configuration_kinds(context: Mapping[str, str]) -> frozenset[str]:
    """The kinds of a configuration, from its CDK context (cdk.json defaults plus its own keys)."""
    kinds = {"iam-admin" if str(context.get("EnableIamAdminAccess", "false")).lower() == "true" else "no-iam-admin"}
    kinds.add("boundary" if context.get("PermissionsBoundaryPolicy") else "no-boundary")
    if context.get("Region", "*") != "*":
        kinds.add("single-region")
    return frozenset(kinds)


def withheld(
    action: str,
    kinds: frozenset[str],
    *,
    wrapper: str | None = None,
    operation: str | None = None,
    resource_type: str | None = None,
) -> bool:
    return any(
        entry.covers(action, kinds, wrapper=wrapper, operation=operation, resource_type=resource_type) for entry in WITHHELD
    )
