"""CloudFormation custom resource that makes sure a service-linked role exists, creating it if needed.

The KMS key of the image build notifications must name Image Builder's service-linked role in its
key policy (Image Builder user guide, "Encrypted SNS topics"), and KMS refuses a key policy whose
principal does not exist yet (KMS API reference, CreateKey: "The principals in the key policy must
exist and be visible to KMS"). Image Builder creates its role only with its first resource, so in a
fresh account the key would come first and fail: this resource runs before the key.

Properties: ``ServiceName`` (``imagebuilder.amazonaws.com``) and ``RoleName``
(``AWSServiceRoleForImageBuilder``), the role IAM creates for that service.

* Create / Update: ``GetRole``; when IAM has no such role, ``CreateServiceLinkedRole``, then wait
  ``SETTLE_SECONDS`` so that the new role is visible to KMS before the key that names it is
  created (the KMS documentation asks for such a delay; IAM is eventually consistent). A creation
  that loses a race to another creator ("has been taken") is confirmed with ``GetRole``.
  ``Data``: ``Arn``. Create / Update respond FAILED when the role neither exists nor can be
  created, naming the command an administrator can run instead.
* Delete: nothing. The role is the account's, shared by every Image Builder resource, and Image
  Builder would create it again anyway; deleting it would break other users of Image Builder.

Physical id: ``<ServiceName>/<RoleName>``. The request's dispatch and its reply:
``custom_resource``. No environment variables.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError
from cfn_response import REPLY_MS
from custom_resource import Outcome, Request, serve
from time_budget import check_time, client_config

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

# Created once per execution environment; tests stub it. Each call is made only while the longest
# it can take still leaves the time to reply (time_budget).
IAM = boto3.client("iam", config=client_config())
# How long a new role is given to become visible to KMS; never into the time kept to reply. Tests
# replace SLEEP.
SETTLE_SECONDS = 20.0
SLEEP: Callable[[float], None] = time.sleep


class RoleUnavailable(Exception):
    """The role does not exist and could not be created."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one custom resource request and PUT the response; returns the response body."""
    return serve(
        event,
        context,
        identify=_identify,
        create_or_update=_create_or_update,
        delete=_delete,
        default_id="service-linked-role",
    )


def _identify(request: Request) -> str:
    return "/".join(_checked(request.properties))


def _create_or_update(request: Request) -> Outcome:
    reason, arn = _ensure(*_checked(request.properties), request.context)
    return Outcome(reason, {"Arn": arn})


def _delete(request: Request) -> str:
    _, role_name = _checked(request.properties)
    return f"{role_name} is kept: the account's Image Builder resources share it, and Image Builder would create it again anyway"


def _checked(properties: dict[str, Any]) -> tuple[str, str]:
    service_name, role_name = properties.get("ServiceName"), properties.get("RoleName")
    if not isinstance(service_name, str) or not service_name.endswith(".amazonaws.com"):
        raise ValueError(f"ServiceName must be a service principal such as imagebuilder.amazonaws.com, got {service_name!r}")
    if not isinstance(role_name, str) or not role_name.startswith("AWSServiceRoleFor"):
        raise ValueError(f"RoleName must be a service-linked role name (AWSServiceRoleFor...), got {role_name!r}")
    return service_name, role_name


def _ensure(service_name: str, role_name: str, context: Any) -> tuple[str, str]:
    """The reason to report and the role's ARN, creating the role if IAM has none."""
    arn = _existing_arn(role_name, context)
    if arn is not None:
        return f"{role_name} already exists", arn
    try:
        check_time(context, REPLY_MS)
        arn = IAM.create_service_linked_role(AWSServiceName=service_name)["Role"]["Arn"]
    except ClientError as error:
        # InvalidInput "...has been taken in this account": created meanwhile by someone else.
        arn = _existing_arn(role_name, context) if _code(error) == "InvalidInput" else None
        if arn is None:
            raise RoleUnavailable(
                f"{role_name} does not exist and could not be created ({_code(error)}: {_message(error)}). "
                f"An administrator can create it once with: aws iam create-service-linked-role "
                f"--aws-service-name {service_name}"
            ) from error
        return f"{role_name} already exists (created meanwhile by another request)", arn
    wait_s = min(SETTLE_SECONDS, max(0.0, (context.get_remaining_time_in_millis() - REPLY_MS) / 1000))
    LOGGER.info("Created %s; waiting %.0f s for it to become visible to KMS", arn, wait_s)
    SLEEP(wait_s)
    return f"Created {role_name} for {service_name}", arn


def _existing_arn(role_name: str, context: Any) -> str | None:
    check_time(context, REPLY_MS)
    try:
        return str(IAM.get_role(RoleName=role_name)["Role"]["Arn"])
    except ClientError as error:
        if _code(error) == "NoSuchEntity":
            return None
        raise


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))
