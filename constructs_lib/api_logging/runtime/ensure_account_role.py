"""CloudFormation custom resource for API Gateway's CloudWatch role: set where the account has none, never clobbered.

API Gateway writes the access and execution logs of REST and WebSocket API stages only when the
account has a CloudWatch role ARN in its API Gateway settings (``GetAccount`` ->
``cloudwatchRoleArn``). That setting is shared by every API of the account in the Region, so this
resource never overwrites a role somebody else set, and never leaves other APIs without the role
they log through.

Properties: ``RoleArn``, the role the stack offers to the account. The stack creates it on a path
dedicated to these roles, one per Region (``/parallelcluster-api/apigateway-account/<region>/``),
and CloudFormation retains it when the stack goes (``DeletionPolicy: RetainExceptOnCreate``): once
set, it serves every API of the account and Region, so this resource decides on Delete whether it
may go.

* Create / Update: the account's role may be replaced only when it is empty, names a role of this
  account that no longer exists (nothing can log through it: IAM's ``GetRole`` says
  ``NoSuchEntity``), or is this resource's previous ``RoleArn`` (Update, ``OldResourceProperties``):
  the stack created that role for this resource alone. The setting is read before EVERY write attempt, so a role somebody sets while
  this resource retries is never overwritten: as soon as the account names a role that is neither
  ``RoleArn`` nor replaceable, the resource stops and reports it (SUCCESS, setting unchanged).
  API Gateway has no conditional write; what remains is the round trip between a read and the
  write that follows it. ``UpdateAccount`` just after the role was created fails for a while with
  ``BadRequestException`` ("The role ARN does not have required permissions set to API Gateway":
  IAM is eventually consistent), so attempts go on with exponential backoff while the function
  has time left (the time to respond is kept). ``Data``: ``RoleArn`` (the role the account
  now uses) and ``SetByThisStack`` (``"true"`` / ``"false"``). Create / Update respond FAILED
  when the role cannot be set: the stage would fail later anyway, with a less clear message.
* Delete (the stack's stage, which depends on this resource, is gone by then):
  - the account uses another role, or none: the setting is left; this stack's role is deleted
    (it is unused);
  - the account uses this stack's role and another stack of this project offered a role (a role
    on the same path) that still exists: the setting is handed over to the newest such role that
    API Gateway accepts, read again before each write, and this stack's role is deleted;
  - no such role, and no other REST or WebSocket API of the Region logs through the account role
    (a stage with CloudWatch access logs, or execution logging or data tracing on any method or
    route): the setting is reset and this stack's role deleted;
  - otherwise the setting and the role are left, and ``Reason`` names the APIs that use them and
    how to clean up later. HTTP APIs (which log through CloudWatch Logs' own delivery) and access
    logs to Firehose (API Gateway's service-linked role) do not use the account role.
  Once this stack's role is deleted, the setting is read again: another stack's Delete, running at
  the same time, may have handed it over to this stack's role, or this stack to a role that other
  stack deleted after it was checked. While the setting names a role that no longer exists, it is
  handed over to an offered role that exists, or reset. Every Delete of this project ends with that
  check, after its last change, so when concurrent Deletes are done the account names a role that
  exists, or none, and the next stack's Create can set its own.
  Delete always responds SUCCESS within the function's time; ``Reason`` tells what happened.
  Deleting a role deletes its inline policies first; a role already gone is fine.

Physical id: ``apigateway-account-cloudwatch-role``, returned by Create; Update and Delete echo the
id CloudFormation sends. It never changes: a new id on Update would make CloudFormation take the
Update as a replacement and send Delete for the old id in the cleanup phase, which would reset the
account's role just set (or hand it over).

Every AWS call is made only while the longest it can take still leaves the time to reply
(``time_budget``). The request's dispatch and its reply: ``custom_resource``. No environment
variables.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import boto3
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as NetworkError
from cfn_response import REPLY_MS
from custom_resource import Outcome, Request, serve
from time_budget import OutOfTime, can_wait, check_time, client_config

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

# Created once per execution environment; tests stub them.
APIGATEWAY = boto3.client("apigateway", config=client_config())
APIGATEWAY_V2 = boto3.client("apigatewayv2", config=client_config())
IAM = boto3.client("iam", config=client_config())

# Keep it: see the module docstring.
PHYSICAL_ID = "apigateway-account-cloudwatch-role"
ROLE_PATH = "/cloudwatchRoleArn"
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
# Handing over to another stack's role and resetting: that role exists since that stack was
# deployed, so BadRequestException means API Gateway does not accept it (the next one is tried).
RETRIED_ON_HANDOVER = {"TooManyRequestsException", "ConflictException"}
# At most this many logging APIs are named in Reason (the first one found already decides).
MAX_REPORTED_APIS = 5
LOGGING_OFF = "OFF"
# Rounds of the check that follows a Delete's last change; each round that changes the setting
# is checked by the next one (concurrent Deletes settle in one or two).
MAX_SETTLE_ROUNDS = 3


class RoleNotSet(Exception):
    """Create / Update could not point the account at the role."""


class RoleNotReset(Exception):
    """Delete: API Gateway rejected both ways of resetting the role, or kept it after both."""


class Written(NamedTuple):
    """The end of a series of UpdateAccount attempts."""

    current: str | None  # the role the account names now (the target after a write)
    replaced: str | None  # the role a successful write replaced
    attempts: int  # UpdateAccount calls made


class HandOver(NamedTuple):
    """The end of a hand-over to the roles other stacks offered."""

    written: Written | None  # None: no offered role took the setting
    candidate: str  # the last role tried
    passed_over: str  # why other offered roles did not take it, as Reason says it ("" for none)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one custom resource request and PUT the response; returns the response body."""
    return serve(
        event,
        context,
        create_or_update=_create_or_update,
        delete=_delete_request,
        default_id=PHYSICAL_ID,
        left_by_a_failed_delete="the account's API Gateway CloudWatch role setting and this stack's role were left "
        "as they were (see the function's log)",
    )


def _create_or_update(request: Request) -> Outcome:
    role_arn = _role_arn(request.properties)
    if role_arn is None:
        raise ValueError(f"RoleArn must be an IAM role ARN, got {request.properties.get('RoleArn')!r}")
    return Outcome(*_ensure(role_arn, _role_arn(request.old_properties), request.context))


def _delete_request(request: Request) -> str:
    return _delete(_role_arn(request.properties), request.context)


def _role_arn(properties: dict[str, Any]) -> str | None:
    """The ``RoleArn`` property when it looks like an IAM role ARN, else None."""
    value = properties.get("RoleArn")
    if isinstance(value, str) and value.startswith("arn:") and ":role/" in value:
        return value
    return None


# --- Create / Update -----------------------------------------------------------------------------


def _ensure(role_arn: str, old_role_arn: str | None, context: Any) -> tuple[str, dict[str, str]]:
    """Create / Update: point the account at ``role_arn`` while it names no role (or one that is gone) or ``old_role_arn``."""
    operation = {"op": "replace", "path": ROLE_PATH, "value": role_arn}

    def replaceable(current: str | None) -> bool:
        return current in (None, old_role_arn) or _gone(str(current), role_arn, context)

    try:
        written = _write(operation, role_arn, replaceable, RETRIED_ON_SET, context)
    except (ClientError, NetworkError, HTTPClientError, OutOfTime) as error:
        if isinstance(error, ClientError) and error.operation_name == "GetAccount":
            raise
        raise RoleNotSet(
            f"Could not set the account's API Gateway CloudWatch role to {role_arn} (API Gateway cannot "
            f"write the stage's logs without one): {error}"
        ) from error
    if written.current != role_arn:
        if written.attempts:
            return (f"The account now uses {written.current}, set by someone else while this stack was setting "
                    f"its role (after {written.attempts} attempt(s)): left unchanged"), _data(written.current, False)
        return f"The account already uses {written.current}, not set by this stack: left unchanged", _data(
            written.current, False
        )
    if not written.attempts:
        return f"The account already uses {role_arn}", _data(role_arn, True)
    if written.replaced is None:
        before = "no role"
    elif written.replaced == old_role_arn:
        before = f"this stack's previous role {written.replaced}"
    else:
        before = f"{written.replaced}, a role that no longer exists"
    return f"Set the account's role to {role_arn} (was {before}; attempts: {written.attempts})", _data(role_arn, True)


# --- Delete --------------------------------------------------------------------------------------


def _delete(role_arn: str | None, context: Any) -> str:
    """Delete: hand over, reset or leave the account's role, and delete this stack's role if unused."""
    if role_arn is None:
        return "No role was recorded for this resource: nothing to do"
    current = _read_account(context)
    if current != role_arn:
        return _then_delete_own_role(
            f"The account uses {current or 'no role'}, not this stack's {role_arn}: left unchanged. ", role_arn, context
        )

    handed = _hand_over(role_arn, role_arn, context)
    if handed.written is not None:
        if handed.written.current == handed.candidate:
            outcome = (f"Handed the account's role over from this stack's {role_arn} to {handed.candidate}, which "
                       "another stack of this project offered. ")
        else:
            outcome = _changed_meanwhile(handed.written.current)
        return _then_delete_own_role(outcome, role_arn, context)
    tried = handed.passed_over

    try:
        logging_apis = _apis_logging_through_the_account_role(context)
    except (ClientError, NetworkError, HTTPClientError, OutOfTime) as error:
        return (f"The account uses this stack's {role_arn}{tried}, and whether other APIs of {_region()} log "
                f"through it could not be checked ({type(error).__name__}: {error}): left the setting and the role. "
                + _cleanup_hint(role_arn))
    if logging_apis:
        return (f"The account uses this stack's {role_arn}{tried}, and other APIs of {_region()} log through it: "
                f"{', '.join(logging_apis)}: left the setting and the role. " + _cleanup_hint(role_arn))

    written, how = _reset(role_arn, context)
    if written.current is not None:
        outcome = _changed_meanwhile(written.current)
    elif not written.attempts:
        outcome = "Somebody reset the account's role meanwhile. "
    else:
        outcome = f"Reset the account's role, which was this stack's {role_arn} ({how}){tried}. "
    return _then_delete_own_role(outcome, role_arn, context)


def _then_delete_own_role(outcome: str, role_arn: str, context: Any) -> str:
    """``outcome``, then this stack's role deleted and, once it is gone, the setting checked again."""
    sentence, deleted = _delete_role(role_arn, context)
    if not deleted:
        return outcome + sentence
    return outcome + sentence + _settle(role_arn, context)


def _settle(own_role: str, context: Any) -> str:
    """What was fixed (Reason's last sentences) while the account named a role that no longer exists.

    Called once this stack's role ``own_role`` is deleted: the setting names it only if another
    stack's Delete handed it over meanwhile, and may name another stack's role that was deleted
    after this stack checked it. Such a setting is handed over to an offered role that exists, or
    reset (nothing can log through a deleted role, so no API check is needed). Never raises: the
    deletion must go on, and Reason says what to do when the check could not be made.
    """
    fixed = ""
    try:
        for _ in range(MAX_SETTLE_ROUNDS):
            current = _read_account(context)
            if current is None or (current != own_role and not _gone(current, own_role, context)):
                return fixed
            if current == own_role:
                named = f"this stack's deleted role {own_role} (another stack's Delete handed it over meanwhile)"
            else:
                named = f"{current}, which no longer exists"
            handed = _hand_over(current, own_role, context)
            if handed.written is not None and handed.written.current == handed.candidate:
                fix = f"handed it over to {handed.candidate}, which another stack of this project offered"
            elif handed.written is None:
                written, how = _reset(current, context)
                fix = f"reset it ({how})" if written.attempts and written.current is None else "it changed meanwhile"
            else:
                fix = "it changed meanwhile"
            fixed += f". Then the account named {named}: {fix}"
        return fixed
    except (ClientError, NetworkError, HTTPClientError, OutOfTime, RoleNotReset) as error:
        LOGGER.warning("Could not check the account's role after deleting %s: %s", own_role, error)
        return (f"{fixed}. Then the account's role could not be checked ({type(error).__name__}: {error}): if "
                "aws apigateway get-account names a role that no longer exists, point it at one that does "
                "(aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=<role ARN>)")


def _changed_meanwhile(current: str | None) -> str:
    return f"The account now uses {current or 'no role'}, set meanwhile by someone else: left unchanged. "


def _hand_over(from_role: str, own_role: str, context: Any) -> HandOver:
    """While the account names ``from_role``, hand it over to the newest role another stack offered.

    Only to a role that exists (a concurrent Delete may have removed it since it was listed) and
    that API Gateway accepts (BadRequestException: the next one is tried); ``written`` is None when
    none took the setting.
    """
    refused, gone, candidate = [], [], ""
    for candidate in _offered_roles(own_role, context):
        if candidate == from_role:
            continue
        if _gone(candidate, own_role, context):
            gone.append(candidate)
            continue
        operation = {"op": "replace", "path": ROLE_PATH, "value": candidate}
        try:
            written = _write(operation, candidate, lambda current: current == from_role, RETRIED_ON_HANDOVER, context)
        except ClientError as error:
            if not _refused_by_api_gateway(error):
                raise
            LOGGER.warning("API Gateway does not accept %s: %s", candidate, error)
            refused.append(f"{candidate} ({_message(error)})")
            continue
        return HandOver(written, candidate, "")
    reasons = [f"API Gateway refused the roles other stacks offered: {'; '.join(refused)}"] if refused else []
    reasons += [f"the roles other stacks offered are gone: {', '.join(gone)}"] if gone else []
    return HandOver(None, candidate, f" ({'; '.join(reasons)})" if reasons else "")


def _gone(role_arn: str, own_role: str, context: Any) -> bool:
    """Whether IAM says ``role_arn`` no longer exists; a role it cannot look up counts as existing.

    IAM answers for the roles of this account (the account of ``own_role``) only; any error but
    NoSuchEntity leaves the role as if it existed, so that a setting is never taken for empty
    without IAM's word for it.
    """
    if _account_of(role_arn) != _account_of(own_role):
        return False
    _, name = _path_and_name(role_arn)
    check_time(context, REPLY_MS)
    try:
        IAM.get_role(RoleName=name)
    except ClientError as error:
        if _code(error) == "NoSuchEntity":
            return True
        LOGGER.warning("Could not look %s up (%s): taken as existing", role_arn, _code(error))
    return False


def _offered_roles(role_arn: str, context: Any) -> list[str]:
    """Roles other stacks of this project offered in this Region (on this role's path), newest first."""
    path, _ = _path_and_name(role_arn)
    if path == "/":  # not a role of the dedicated path: nothing identifies the project's roles
        return []
    roles = [
        role
        for page in _pages(IAM.list_roles, "Marker", context, PathPrefix=path)
        for role in page.get("Roles", [])
        # PathPrefix also matches deeper paths.
        if role.get("Path") == path and role["Arn"] != role_arn
    ]
    roles.sort(key=lambda role: (role["CreateDate"], role["Arn"]), reverse=True)
    return [role["Arn"] for role in roles]


def _apis_logging_through_the_account_role(context: Any) -> list[str]:
    """REST and WebSocket APIs of the Region with a stage whose logging needs the account's role."""
    found: list[str] = []
    for page in _pages(APIGATEWAY.get_rest_apis, "position", context, limit=500):
        for api in page.get("items", []):
            check_time(context, REPLY_MS)
            stages = APIGATEWAY.get_stages(restApiId=api["id"]).get("item", [])
            logging_stages = [stage["stageName"] for stage in stages if _rest_stage_logs(stage)]
            if logging_stages:
                found.append(f"REST API {api.get('name')} ({api['id']}), stage {logging_stages[0]}")
                if len(found) == MAX_REPORTED_APIS:
                    return found
    for page in _pages(APIGATEWAY_V2.get_apis, "NextToken", context):
        for api in page.get("Items", []):
            if api.get("ProtocolType") != "WEBSOCKET":
                continue
            stages = [
                stage
                for stage_page in _pages(APIGATEWAY_V2.get_stages, "NextToken", context, ApiId=api["ApiId"])
                for stage in stage_page.get("Items", [])
            ]
            logging_stages = [stage["StageName"] for stage in stages if _websocket_stage_logs(stage)]
            if logging_stages:
                found.append(f"WebSocket API {api.get('Name')} ({api['ApiId']}), stage {logging_stages[0]}")
                if len(found) == MAX_REPORTED_APIS:
                    return found
    return found


def _rest_stage_logs(stage: dict[str, Any]) -> bool:
    destination = (stage.get("accessLogSettings") or {}).get("destinationArn", "")
    methods = (stage.get("methodSettings") or {}).values()
    return _is_log_group(destination) or any(
        method.get("loggingLevel", LOGGING_OFF) != LOGGING_OFF or method.get("dataTraceEnabled") for method in methods
    )


def _websocket_stage_logs(stage: dict[str, Any]) -> bool:
    destination = (stage.get("AccessLogSettings") or {}).get("DestinationArn", "")
    routes = [stage.get("DefaultRouteSettings") or {}, *(stage.get("RouteSettings") or {}).values()]
    return _is_log_group(destination) or any(
        route.get("LoggingLevel", LOGGING_OFF) != LOGGING_OFF or route.get("DataTraceEnabled") for route in routes
    )


def _is_log_group(arn: str) -> bool:
    # A CloudWatch Logs destination (a Firehose one uses API Gateway's service-linked role).
    return arn.split(":")[2:3] == ["logs"]


def _reset(role_arn: str, context: Any) -> tuple[Written, str]:
    """Clear the account's role while it is ``role_arn``; returns the outcome and how it was cleared.

    The API reference's patch operations table for UpdateAccount lists only `replace` as supported
    on /cloudwatchRoleArn (`remove` is "Not supported"), and does not say how to clear it. Chosen:
    `replace` WITHOUT a value, as the Terraform AWS provider (v6) does when it destroys
    aws_api_gateway_account (its acceptance tests check that the role is gone after). If the
    service rejects that with BadRequestException, or keeps the role, `replace` with an empty value
    is tried (what Terraform v5 sent for an empty role). Neither is verified against the real
    service here (moto accepts only the second), hence the read after each.
    """
    errors = []
    for how, operation in (
        ("replace without a value", {"op": "replace", "path": ROLE_PATH}),
        ("replace with an empty value", {"op": "replace", "path": ROLE_PATH, "value": ""}),
    ):
        try:
            written = _write(operation, None, lambda current: current == role_arn, RETRIED_ON_HANDOVER, context)
        except ClientError as error:
            if not _refused_by_api_gateway(error):
                raise
            LOGGER.warning("Reset (%s) rejected: %s", how, error)
            errors.append(f"{how}: {_code(error)}: {_message(error)}")
            continue
        if written.attempts and written.current is None:
            written = written._replace(current=_read_account(context))
            if written.current == role_arn:
                LOGGER.warning("Reset (%s) accepted, but the account still uses %s", how, role_arn)
                errors.append(f"{how}: accepted, but the account still uses the role")
                continue
        return written, how
    raise RoleNotReset(f"API Gateway did not reset the account's role {role_arn}: {'; '.join(errors)}")


def _delete_role(role_arn: str, context: Any) -> tuple[str, bool]:
    """Delete this stack's role (its inline policies first): a sentence saying how it went, and whether
    the role is gone. Never raises AWS errors."""
    _, name = _path_and_name(role_arn)
    try:
        for page in _pages(IAM.list_role_policies, "Marker", context, RoleName=name):
            for policy_name in page.get("PolicyNames", []):
                check_time(context, REPLY_MS)
                _unless_gone(IAM.delete_role_policy, RoleName=name, PolicyName=policy_name)
        check_time(context, REPLY_MS)
        _unless_gone(IAM.delete_role, RoleName=name)
    except (ClientError, NetworkError, HTTPClientError, OutOfTime) as error:
        if isinstance(error, ClientError) and _code(error) == "NoSuchEntity":  # from ListRolePolicies
            return f"This stack's role {name} was already deleted", True
        LOGGER.warning("Could not delete %s: %s", role_arn, error)
        return (f"Could not delete this stack's role {name}, which CloudFormation retains ({type(error).__name__}: "
                f"{error}): detach or delete its policies, then delete the role"), False
    return f"Deleted this stack's role {name}", True


def _unless_gone(call: Callable[..., Any], **params: Any) -> None:
    try:
        call(**params)
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise


def _cleanup_hint(role_arn: str) -> str:
    _, name = _path_and_name(role_arn)
    return (f"CloudFormation retains the role; once no other API logs through it, point the account's setting at "
            f"another role (or reset it), then delete the role {name}, its inline policy first")


# --- The account setting, read before every write ------------------------------------------------


def _write(
    operation: dict[str, str],
    target: str | None,
    replaceable: Callable[[str | None], bool],
    retried: set[str],
    context: Any,
) -> Written:
    """UpdateAccount with ``operation`` (which sets ``target``), retried with backoff on ``retried`` errors.

    The account's setting is read before each attempt: when it already names ``target`` the work
    is done, and when it is not ``replaceable`` somebody else set it: no attempt is made. Raises
    the last error when it is not retryable, or OutOfTime when the next attempt would not leave
    the time to respond.
    """
    backoff_s, attempts, started, last = INITIAL_BACKOFF_S, 0, time.monotonic(), ""
    while True:
        try:
            current = _read_account(context)
            if current == target or not replaceable(current):
                return Written(current, None, attempts)
            check_time(context, REPLY_MS)
        except OutOfTime:
            if not attempts:
                raise
            # The sleep ended a little later than planned: report what kept failing.
            raise _still_failing(attempts, started, last) from None
        attempts += 1
        try:
            APIGATEWAY.update_account(patchOperations=[operation])
            return Written(target, current, attempts)
        except ClientError as error:
            if _code(error) not in retried:
                raise
            last = f"{_code(error)}: {_message(error)}"
        except (NetworkError, HTTPClientError) as error:  # connection errors, timeouts
            last = f"{type(error).__name__}: {error}"
        LOGGER.info("UpdateAccount attempt %d failed (%s); retrying in %.1f s", attempts, last, backoff_s)
        if not can_wait(context, backoff_s, REPLY_MS):
            raise _still_failing(attempts, started, last)
        SLEEP(backoff_s)
        backoff_s = min(backoff_s * 2, MAX_BACKOFF_S)


def _still_failing(attempts: int, started: float, last: str) -> OutOfTime:
    return OutOfTime(
        f"UpdateAccount still failing after {attempts} attempt(s) in {time.monotonic() - started:.0f} s, "
        f"stopped to keep the time to respond; last error: {last}"
    )


def _read_account(context: Any) -> str | None:
    check_time(context, REPLY_MS)
    return APIGATEWAY.get_account().get("cloudwatchRoleArn") or None


def _pages(call: Callable[..., dict[str, Any]], token: str, context: Any, **params: Any) -> Iterator[dict[str, Any]]:
    """The pages of a list operation whose next-page token is ``token`` in both request and response."""
    while True:
        check_time(context, REPLY_MS)
        page = call(**params)
        yield page
        if not page.get(token):
            return
        params[token] = page[token]


def _path_and_name(role_arn: str) -> tuple[str, str]:
    """``arn:aws:iam::1:role/a/b/Name`` -> (``/a/b/``, ``Name``)."""
    path, _, name = role_arn.split(":role", 1)[1].rpartition("/")
    return f"{path}/", name


def _account_of(arn: str) -> str:
    return arn.split(":")[4] if arn.count(":") >= 5 else ""


def _region() -> str:
    return str(APIGATEWAY.meta.region_name)


def _data(role_arn: str | None, set_by_this_stack: bool) -> dict[str, str]:
    # Strings: Fn::GetAtt of a custom resource returns strings anyway ("" for no role).
    return {"RoleArn": role_arn or "", "SetByThisStack": "true" if set_by_this_stack else "false"}


def _refused_by_api_gateway(error: ClientError) -> bool:
    """UpdateAccount's BadRequestException: API Gateway does not take that value (a role, or an empty one)."""
    return bool(error.operation_name == "UpdateAccount" and _code(error) == "BadRequestException")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))
