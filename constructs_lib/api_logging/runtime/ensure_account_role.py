"""CloudFormation custom resource that sets API Gateway's CloudWatch role, only if the account has none.

API Gateway writes the access and execution logs of a REST API stage only when the account has a
CloudWatch role ARN in its API Gateway settings (``GetAccount`` -> ``cloudwatchRoleArn``). That
setting is shared by every API of the account in the Region, so this resource never overwrites a
role somebody else set. Raw custom resource protocol: the ``ServiceToken`` is this function's ARN,
CloudFormation invokes it asynchronously and waits for the JSON response PUT to the pre-signed S3
``ResponseURL``.

Properties: ``RoleArn``, the role the stack created for API Gateway to write to CloudWatch Logs.

* Create / Update: ``GetAccount``. The account's role is taken to be this stack's when it is the
  ``RoleArn`` (or, on Update, the previous ``RoleArn`` from ``OldResourceProperties``): the
  stack created that role for this resource alone. No role: set ``RoleArn``. This stack's previous
  role: move to ``RoleArn``. ``RoleArn`` already: nothing to do. Any other role: left alone.
  ``Data``: ``RoleArn`` (the role the account now uses) and ``SetByThisStack`` (``"true"`` /
  ``"false"``). ``UpdateAccount`` just after the role was created fails for a while with
  ``BadRequestException`` ("The role ARN does not have required permissions set to API Gateway":
  IAM is eventually consistent), so it is retried with exponential backoff while the function has
  time left (``MARGIN_MS`` is kept to respond). Create / Update respond FAILED when the role
  cannot be set: the stage would fail later anyway, with a less clear message.
* Delete: when the account still uses ``RoleArn`` (this stack set it and nobody changed it
  since), reset the setting so the account does not point at the role the stack is about to
  delete; otherwise leave it. Delete always responds SUCCESS; ``Reason`` tells what happened.

Physical id: ``apigateway-account-cloudwatch-role``, returned by Create; Update and Delete echo the
id CloudFormation sends. It never changes: a new id on Update would make CloudFormation take the
Update as a replacement and send Delete for the old id in the cleanup phase, which would reset the
account's role just set.

The response is sent in all cases (``finally``); if the PUT itself fails the handler raises, so
Lambda's asynchronous retries (the handler is idempotent) send it. No environment variables.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

import boto3
from botocore.config import Config
from cfn_response import FAILED, SUCCESS, send_response
from botocore.exceptions import ClientError, ConnectionError as NetworkError, HTTPClientError

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

# Created once per execution environment; tests stub it. Timeouts keep a call (its retry included:
# at most 2 x (3 + 10) s plus botocore's backoff) well under MARGIN_MS, so checking the remaining
# time before each call is enough.
APIGATEWAY = boto3.client(
    "apigateway",
    config=Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 2}),
)

# Keep it: see the module docstring.
PHYSICAL_ID = "apigateway-account-cloudwatch-role"
ROLE_PATH = "/cloudwatchRoleArn"
# Stop calling API Gateway (or sleeping) when less time than this is left, to still respond.
MARGIN_MS = 30_000
# Backoff between UpdateAccount attempts: 2, 4, 8, 16, 20, 20... seconds. Tests replace SLEEP.
INITIAL_BACKOFF_S = 2.0
MAX_BACKOFF_S = 20.0
SLEEP: Callable[[float], None] = time.sleep
# Errors of UpdateAccount worth retrying while time is left. BadRequestException is what IAM
# propagation gives for a new role ("The role ARN does not have required permissions set to API
# Gateway", also seen as "API Gateway could not successfully write to CloudWatch Logs using the ARN
# specified"); any message is retried, since the role comes from the stack (well-formed) and the
# wording is not an API contract. The last error is reported if time runs out. Network errors and
# timeouts (after botocore's own retry) are retried as well: both operations are idempotent.
RETRIED_ON_SET = {"BadRequestException", "TooManyRequestsException", "ConflictException"}
RETRIED_ON_RESET = {"TooManyRequestsException", "ConflictException"}


class OutOfTime(Exception):
    """UpdateAccount kept failing with a retryable error until the time left was used up."""


class RoleNotSet(Exception):
    """Create / Update could not point the account at the role."""


class RoleNotReset(Exception):
    """Delete: API Gateway rejected both ways of resetting the role."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one custom resource request and PUT the response; returns the response body."""
    request_type = event.get("RequestType")
    physical_id = event.get("PhysicalResourceId") or PHYSICAL_ID
    status, reason = FAILED, "No outcome"
    data: dict[str, str] = {}
    try:
        if request_type == "Delete":
            reason = _delete(_role_arn(event.get("ResourceProperties")), context)
            status = SUCCESS
        elif request_type in ("Create", "Update"):
            role_arn = _role_arn(event.get("ResourceProperties"))
            if role_arn is None:
                value = (event.get("ResourceProperties") or {}).get("RoleArn")
                raise ValueError(f"RoleArn must be an IAM role ARN, got {value!r}")
            old_role_arn = _role_arn(event.get("OldResourceProperties")) if request_type == "Update" else None
            reason, data = _ensure(role_arn, old_role_arn, context)
            status = SUCCESS
        else:
            raise ValueError(f"Unknown RequestType {request_type!r}")
    except Exception as error:  # noqa: BLE001 - reported to CloudFormation below
        LOGGER.exception("%s request failed", request_type)
        data = {}
        if request_type == "Delete":
            # Never block the deletion of the stack (or the rollback of a failed creation).
            status = SUCCESS
            reason = (f"Delete failed: {type(error).__name__}: {error}; the account's API Gateway "
                      "CloudWatch role was not reset")
        else:
            status = FAILED
            reason = f"{request_type} failed: {type(error).__name__}: {error}"
    finally:
        body = send_response(event, status, reason, physical_id, data)
    return body


def _role_arn(properties: Optional[dict[str, Any]]) -> Optional[str]:
    """The ``RoleArn`` property when it looks like an IAM role ARN, else None."""
    value = (properties or {}).get("RoleArn")
    if isinstance(value, str) and value.startswith("arn:") and ":role/" in value:
        return value
    return None


def _ensure(role_arn: str, old_role_arn: Optional[str], context: Any) -> tuple[str, dict[str, str]]:
    """Create / Update: point the account at ``role_arn`` unless another role is set."""
    _check_time(context)
    current = APIGATEWAY.get_account().get("cloudwatchRoleArn") or None
    if current == role_arn:
        return f"The account already uses {role_arn}", _data(role_arn, True)
    if current is not None and current != old_role_arn:
        reason = f"The account already uses {current}, not set by this stack: left unchanged"
        return reason, _data(current, False)
    try:
        operation = {"op": "replace", "path": ROLE_PATH, "value": role_arn}
        attempts = _update_account(operation, RETRIED_ON_SET, context)
    except (ClientError, NetworkError, HTTPClientError, OutOfTime) as error:
        raise RoleNotSet(
            f"Could not set the account's API Gateway CloudWatch role to {role_arn} (API Gateway cannot "
            f"write the stage's logs without one): {error}"
        ) from error
    before = "no role" if current is None else f"this stack's previous role {current}"
    return f"Set the account's role to {role_arn} (was {before}; attempts: {attempts})", _data(role_arn, True)


def _delete(role_arn: Optional[str], context: Any) -> str:
    """Delete: reset the account's role if it is still this stack's one."""
    if role_arn is None:
        return "No role was recorded for this resource: nothing to do"
    _check_time(context)
    current = APIGATEWAY.get_account().get("cloudwatchRoleArn") or None
    if current != role_arn:
        owner = "no role" if current is None else current
        return f"The account uses {owner}, not this stack's {role_arn}: left unchanged"
    # Resetting: the API reference's patch operations table for UpdateAccount lists only `replace`
    # as supported on /cloudwatchRoleArn (`remove` is "Not supported"), and does not say how to
    # clear it. Chosen: `replace` WITHOUT a value, as the Terraform AWS provider (v6) does when it
    # destroys aws_api_gateway_account (its acceptance tests check that the role is gone after).
    # If the service rejects that with BadRequestException, `replace` with an empty value is tried
    # (what Terraform v5 sent for an empty role). Neither is verified against the real service
    # here (moto accepts only the second). If both fail, the role stays: reported, never fatal.
    try:
        _update_account({"op": "replace", "path": ROLE_PATH}, RETRIED_ON_RESET, context)
        how = "replace without a value"
    except ClientError as first:
        if _code(first) != "BadRequestException":
            raise
        LOGGER.warning("Reset without a value rejected (%s); trying an empty value", first)
        try:
            _update_account({"op": "replace", "path": ROLE_PATH, "value": ""}, RETRIED_ON_RESET, context)
        except ClientError as second:
            raise RoleNotReset(
                f"API Gateway rejected both resets of {role_arn}: replace without a value: "
                f"{_code(first)}: {_message(first)}; replace with an empty value: "
                f"{_code(second)}: {_message(second)}"
            ) from second
        how = "replace with an empty value"
    return f"Reset the account's role, which was this stack's {role_arn} ({how})"


def _update_account(operation: dict[str, str], retried: set[str], context: Any) -> int:
    """UpdateAccount with one patch operation, retried with backoff on ``retried`` errors.

    Returns the number of attempts; raises the last error when it is not retryable, or OutOfTime
    when the next attempt would not leave MARGIN_MS to respond.
    """
    backoff_s, attempts, started = INITIAL_BACKOFF_S, 0, time.monotonic()
    while True:
        _check_time(context)
        attempts += 1
        try:
            APIGATEWAY.update_account(patchOperations=[operation])
            return attempts
        except ClientError as error:
            if _code(error) not in retried:
                raise
            last = f"{_code(error)}: {_message(error)}"
        except (NetworkError, HTTPClientError) as error:  # connection errors, timeouts
            last = f"{type(error).__name__}: {error}"
        LOGGER.info("UpdateAccount attempt %d failed (%s); retrying in %.1f s", attempts, last, backoff_s)
        if context.get_remaining_time_in_millis() - backoff_s * 1000 < MARGIN_MS:
            raise OutOfTime(
                f"UpdateAccount still failing after {attempts} attempt(s) in {time.monotonic() - started:.0f} s, "
                f"stopped to keep {MARGIN_MS // 1000} s to respond; last error: {last}"
            )
        SLEEP(backoff_s)
        backoff_s = min(backoff_s * 2, MAX_BACKOFF_S)


def _check_time(context: Any) -> None:
    if context.get_remaining_time_in_millis() < MARGIN_MS:
        raise OutOfTime(f"Less than {MARGIN_MS // 1000} s left, not calling API Gateway")


def _data(role_arn: str, set_by_this_stack: bool) -> dict[str, str]:
    # Strings: Fn::GetAtt of a custom resource returns strings anyway.
    return {"RoleArn": role_arn, "SetByThisStack": "true" if set_by_this_stack else "false"}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))
