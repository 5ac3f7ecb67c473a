"""ensure_account_role: the custom resource that sets API Gateway's CloudWatch role if the account has none.

The account's state is played by moto (5.2.5 models GetAccount / UpdateAccount and
``cloudwatchRoleArn``, without checking the role). Exact requests and the service's errors
(IAM propagation, throttling, access denied) are played by botocore's Stubber.
"""

from __future__ import annotations

import json
import time
import urllib.error
from typing import Any, Iterator

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws
from moto.apigateway.models import Account

from tests.constructs_lib.helper_function.runtime_support import ACCOUNT, REGION, FakeContext, ResponseRecorder, load_runtime
from tests.constructs_lib.helper_function.runtime_support import response_url  # noqa: F401 - the fixture

module = load_runtime("api_logging", "ensure_account_role")

ROLE = f"arn:aws:iam::{ACCOUNT}:role/ParallelClusterApi-ApiGatewayCloudWatchRole-7LmQx2Rt9ZpK"
OLD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ParallelClusterApi-ApiGatewayCloudWatchRole-1AbCdE2fGhIj"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/APIGatewayToCloudWatchLogs"
PHYSICAL_ID = "apigateway-account-cloudwatch-role"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/ParallelClusterApi/8131d980-7fb5-11ee-9589-0a64249"
SERVICE_TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ParallelClusterApi-EnsureAccountRole-9sDfG4hJkL2q"
REQUEST_ID = "0b6c2f4e-8d1a-4f3b-9c7e-2a5d8e1f6b90"
LOGICAL_ID = "ApiLoggingAccountRoleC2D4E6F8"
PROPAGATION = "The role ARN does not have required permissions set to API Gateway"
SET = {"patchOperations": [{"op": "replace", "path": "/cloudwatchRoleArn", "value": ROLE}]}
RESET = {"patchOperations": [{"op": "replace", "path": "/cloudwatchRoleArn"}]}
RESET_EMPTY = {"patchOperations": [{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}]}


def request(request_type: str, url: str, role_arn: str = ROLE, **extra: Any) -> dict[str, Any]:
    """A CloudFormation custom resource request as the Lambda function receives it."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": url,
        "StackId": STACK_ID,
        "RequestId": REQUEST_ID,
        "LogicalResourceId": LOGICAL_ID,
        "ResourceType": "Custom::ApiGatewayAccountRole",
        "ResourceProperties": {"ServiceToken": SERVICE_TOKEN, "RoleArn": role_arn},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = PHYSICAL_ID
    event.update(extra)
    return event


def update(url: str, old_role: str, new_role: str = ROLE) -> dict[str, Any]:
    return request(
        "Update", url, new_role, OldResourceProperties={"ServiceToken": SERVICE_TOKEN, "RoleArn": old_role}
    )


def expected_body(status: str, reason: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": PHYSICAL_ID,
        "StackId": STACK_ID,
        "RequestId": REQUEST_ID,
        "LogicalResourceId": LOGICAL_ID,
        "NoEcho": False,
        "Data": data or {},
    }


def ours(role: str = ROLE) -> dict[str, str]:
    return {"RoleArn": role, "SetByThisStack": "true"}


def theirs(role: str = OTHER_ROLE) -> dict[str, str]:
    return {"RoleArn": role, "SetByThisStack": "false"}


class ClockContext:
    """A Lambda context on a simulated clock that only ``sleep`` advances (API calls take no time)."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms
        self.sleeps: list[float] = []

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.remaining_ms -= int(seconds * 1000)


class RealClockContext:
    """A Lambda context whose remaining time runs with the real clock."""

    def __init__(self, remaining_ms: int) -> None:
        self.deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """No test really waits unless it says so; the backoff delays asked for are recorded."""
    recorded: list[float] = []
    monkeypatch.setattr(module, "SLEEP", recorded.append)
    return recorded


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An API Gateway account in moto, with the handler's client pointed at it; returns a client."""
    for name, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(name, value)
    # moto 5.2.5 raises KeyError on a patch operation without "value"; the handler's reset sends one.
    # Per the Terraform AWS provider's acceptance tests the service clears the role: moto is made to
    # do so. (The request itself is checked with the Stubber in test_delete_resets_this_stacks_role.)
    original = Account.apply_patch_operations

    def apply_patch_operations(self: Account, operations: list[dict[str, Any]]) -> Account:
        rest = []
        for operation in operations:
            if operation.get("path") == "/cloudwatchRoleArn" and "value" not in operation:
                assert operation["op"] == "replace"
                self.cloudwatch_role_arn = None
            else:
                rest.append(operation)
        return original(self, rest)

    monkeypatch.setattr(Account, "apply_patch_operations", apply_patch_operations)
    with mock_aws():
        client = boto3.client("apigateway", region_name=REGION)
        monkeypatch.setattr(module, "APIGATEWAY", client)
        yield client


def set_role(client: Any, role: str) -> None:
    client.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role}])


def role_of(client: Any) -> str | None:
    return client.get_account().get("cloudwatchRoleArn") or None


@pytest.fixture
def apigateway() -> Iterator[Stubber]:
    """Every API Gateway call must be expected; an unexpected one raises."""
    with Stubber(module.APIGATEWAY) as stub:
        yield stub
        stub.assert_no_pending_responses()


def expect_get(stub: Stubber, role: str | None) -> None:
    response: dict[str, Any] = {"throttleSettings": {"burstLimit": 5000, "rateLimit": 10000.0},
                                "features": ["UsagePlans"], "apiKeyVersion": "4"}
    if role:
        response["cloudwatchRoleArn"] = role
    stub.add_response("get_account", response, {})


def expect_update(stub: Stubber, params: dict[str, Any], error: str = "", message: str = "") -> None:
    if error:
        status = {"TooManyRequestsException": 429, "UnauthorizedException": 401}.get(error, 400)
        stub.add_client_error("update_account", error, message or error, status, expected_params=params)
    else:
        value = params["patchOperations"][0].get("value")
        response: dict[str, Any] = {"throttleSettings": {"burstLimit": 5000, "rateLimit": 10000.0}}
        if value:
            response["cloudwatchRoleArn"] = value
        stub.add_response("update_account", response, params)


# --- Create --------------------------------------------------------------------------------------


def test_create_sets_the_role_of_an_account_without_one(account: Any, response_url: ResponseRecorder) -> None:
    assert role_of(account) is None

    body = module.handler(request("Create", response_url.url), FakeContext())

    assert role_of(account) == ROLE
    sent = response_url.only
    assert sent["method"] == "PUT"
    # The pre-signed URL, query string included, is used as given.
    assert "http://" + sent["headers"]["Host"] + sent["path"] == response_url.url
    # Documented for the pre-signed S3 URL: an empty Content-Type (the URL is signed without one).
    content_type = {key.lower(): value for key, value in sent["headers"].items()}["content-type"]
    assert content_type == ""
    assert int(sent["headers"]["Content-Length"]) == len(sent["body"])
    expected = expected_body("SUCCESS", f"Set the account's role to {ROLE} (was no role; attempts: 1)", ours())
    assert json.loads(sent["body"]) == expected == body


def test_create_leaves_another_role_alone(account: Any, response_url: ResponseRecorder) -> None:
    set_role(account, OTHER_ROLE)

    module.handler(request("Create", response_url.url), FakeContext())

    assert role_of(account) == OTHER_ROLE
    assert response_url.body() == expected_body(
        "SUCCESS", f"The account already uses {OTHER_ROLE}, not set by this stack: left unchanged", theirs()
    )


def test_create_when_the_account_already_uses_this_role(
    apigateway: Stubber, response_url: ResponseRecorder
) -> None:
    """For example a retried Create whose first response was lost: no call to UpdateAccount."""
    expect_get(apigateway, ROLE)

    module.handler(request("Create", response_url.url), FakeContext())

    assert response_url.body() == expected_body("SUCCESS", f"The account already uses {ROLE}", ours())


def test_create_retries_while_the_new_role_propagates(
    apigateway: Stubber, response_url: ResponseRecorder, sleeps: list[float]
) -> None:
    expect_get(apigateway, None)
    expect_update(apigateway, SET, "BadRequestException", PROPAGATION)
    expect_update(apigateway, SET, "TooManyRequestsException", "Too Many Requests")
    expect_update(apigateway, SET, "BadRequestException",
                  "API Gateway could not successfully write to CloudWatch Logs using the ARN specified")
    expect_update(apigateway, SET)

    module.handler(request("Create", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS", f"Set the account's role to {ROLE} (was no role; attempts: 4)", ours()
    )
    assert sleeps == [2.0, 4.0, 8.0]


def test_create_retries_network_errors(monkeypatch: pytest.MonkeyPatch, response_url: ResponseRecorder,
                                       sleeps: list[float]) -> None:
    calls: list[dict[str, Any]] = []

    class Client:
        def get_account(self) -> dict[str, Any]:
            return {}

        def update_account(self, **params: Any) -> dict[str, Any]:
            calls.append(params)
            if len(calls) == 1:
                raise ReadTimeoutError(endpoint_url=f"https://apigateway.{REGION}.amazonaws.com/account")
            return {"cloudwatchRoleArn": ROLE}

    monkeypatch.setattr(module, "APIGATEWAY", Client())

    module.handler(request("Create", response_url.url), FakeContext())

    assert response_url.body()["Status"] == "SUCCESS"
    assert calls == [SET, SET] and sleeps == [2.0]


def test_create_gives_up_within_the_time_bound(apigateway: Stubber, response_url: ResponseRecorder,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """100 s left, 30 s kept to respond: attempts at 0, 2, 6, 14, 30, 50 and 70 s, then FAILED."""
    context = ClockContext(100_000)
    monkeypatch.setattr(module, "SLEEP", context.sleep)
    expect_get(apigateway, None)
    for _ in range(7):
        expect_update(apigateway, SET, "BadRequestException", PROPAGATION)

    module.handler(request("Create", response_url.url), context)

    assert context.sleeps == [2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
    assert context.remaining_ms == 30_000  # all the time left before the margin, not more
    assert response_url.body() == expected_body(
        "FAILED",
        f"Create failed: RoleNotSet: Could not set the account's API Gateway CloudWatch role to {ROLE} "
        "(API Gateway cannot write the stage's logs without one): UpdateAccount still failing after 7 "
        "attempt(s) in 0 s, stopped to keep 30 s to respond; last error: BadRequestException: " + PROPAGATION,
    )


def test_create_gives_up_in_real_time(response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    """With real sleeps (shortened) and 0.4 s of time before the margin: FAILED in about 0.4 s."""
    monkeypatch.setattr(module, "SLEEP", time.sleep)
    monkeypatch.setattr(module, "INITIAL_BACKOFF_S", 0.02)
    monkeypatch.setattr(module, "MAX_BACKOFF_S", 0.08)
    with Stubber(module.APIGATEWAY) as stub:  # more errors queued than can be used
        expect_get(stub, None)
        for _ in range(50):
            expect_update(stub, SET, "BadRequestException", PROPAGATION)
        started = time.monotonic()

        module.handler(request("Create", response_url.url), RealClockContext(module.MARGIN_MS + 400))

        elapsed = time.monotonic() - started
    body = response_url.body()
    assert body["Status"] == "FAILED"
    assert "UpdateAccount still failing after" in body["Reason"] and PROPAGATION in body["Reason"]
    assert 0.1 < elapsed < 0.4 + 0.3  # the budget, plus the response's round trip and scheduling


def test_create_fails_at_once_on_an_error_not_worth_retrying(
    apigateway: Stubber, response_url: ResponseRecorder, sleeps: list[float]
) -> None:
    expect_get(apigateway, None)
    expect_update(apigateway, SET, "UnauthorizedException", "Unauthorized")

    module.handler(request("Create", response_url.url), FakeContext())

    body = response_url.body()
    assert (body["Status"], body["Data"], sleeps) == ("FAILED", {}, [])
    assert body["Reason"] == (
        f"Create failed: RoleNotSet: Could not set the account's API Gateway CloudWatch role to {ROLE} "
        "(API Gateway cannot write the stage's logs without one): An error occurred (UnauthorizedException) "
        "when calling the UpdateAccount operation: Unauthorized"
    )


def test_create_fails_when_the_account_cannot_be_read(apigateway: Stubber, response_url: ResponseRecorder) -> None:
    apigateway.add_client_error("get_account", "AccessDeniedException", "not authorized", 403)

    module.handler(request("Create", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "FAILED",
        "Create failed: ClientError: An error occurred (AccessDeniedException) when calling the GetAccount "
        "operation: not authorized",
    )


def test_create_without_time_left_fails_without_calling(
    apigateway: Stubber, response_url: ResponseRecorder
) -> None:
    module.handler(request("Create", response_url.url), FakeContext(20_000))

    assert response_url.body() == expected_body(
        "FAILED", "Create failed: OutOfTime: Less than 30 s left, not calling API Gateway"
    )


@pytest.mark.parametrize("role_arn", [None, "", "ParallelClusterApi-Role", f"arn:aws:iam::{ACCOUNT}:user/x"])
def test_create_with_a_bad_property_fails(
    apigateway: Stubber, response_url: ResponseRecorder, role_arn: Any
) -> None:
    module.handler(request("Create", response_url.url, role_arn), FakeContext())

    assert response_url.body() == expected_body(
        "FAILED", f"Create failed: ValueError: RoleArn must be an IAM role ARN, got {role_arn!r}"
    )


def test_unknown_request_type_fails(apigateway: Stubber, response_url: ResponseRecorder) -> None:
    module.handler(request("Replace", response_url.url), FakeContext())

    reason = "Replace failed: ValueError: Unknown RequestType 'Replace'"
    assert response_url.body() == expected_body("FAILED", reason)


def test_unusable_response_url_raises_for_lambda_to_retry(
    account: Any, response_url: ResponseRecorder
) -> None:
    response_url.status = 403  # for example an expired pre-signed URL

    with pytest.raises(urllib.error.HTTPError):
        module.handler(request("Create", response_url.url), FakeContext())
    assert response_url.body()["Status"] == "SUCCESS"
    # The retry finds the account using this stack's role and reports it the same way.
    response_url.status, response_url.requests = 200, []
    module.handler(request("Create", response_url.url), FakeContext())
    assert response_url.body() == expected_body("SUCCESS", f"The account already uses {ROLE}", ours())


# --- Update --------------------------------------------------------------------------------------


def test_update_moves_the_account_from_this_stacks_old_role(account: Any, response_url: ResponseRecorder) -> None:
    set_role(account, OLD_ROLE)

    module.handler(update(response_url.url, OLD_ROLE), FakeContext())

    assert role_of(account) == ROLE
    assert response_url.body() == expected_body(
        "SUCCESS", f"Set the account's role to {ROLE} (was this stack's previous role {OLD_ROLE}; attempts: 1)",
        ours(),
    )


def test_update_leaves_another_role_alone(account: Any, response_url: ResponseRecorder) -> None:
    set_role(account, OTHER_ROLE)

    module.handler(update(response_url.url, OLD_ROLE), FakeContext())

    assert role_of(account) == OTHER_ROLE
    assert response_url.body() == expected_body(
        "SUCCESS", f"The account already uses {OTHER_ROLE}, not set by this stack: left unchanged", theirs()
    )


def test_update_sets_the_role_of_an_account_without_one(account: Any, response_url: ResponseRecorder) -> None:
    """For example somebody reset it after the stack set it."""
    module.handler(update(response_url.url, OLD_ROLE), FakeContext())

    assert role_of(account) == ROLE
    assert response_url.body()["Data"] == ours()


def test_update_with_the_same_role_changes_nothing(account: Any, response_url: ResponseRecorder) -> None:
    set_role(account, ROLE)

    module.handler(update(response_url.url, ROLE), FakeContext())

    assert role_of(account) == ROLE
    assert response_url.body() == expected_body("SUCCESS", f"The account already uses {ROLE}", ours())


def test_update_keeps_the_physical_id(apigateway: Stubber, response_url: ResponseRecorder) -> None:
    """Another id would make CloudFormation send Delete for the old one, which would reset the role."""
    expect_get(apigateway, OTHER_ROLE)

    module.handler(update(response_url.url, OLD_ROLE), FakeContext())

    assert response_url.body()["PhysicalResourceId"] == PHYSICAL_ID


def test_failed_update_keeps_the_physical_id(apigateway: Stubber, response_url: ResponseRecorder) -> None:
    expect_get(apigateway, OLD_ROLE)
    expect_update(apigateway, SET, "UnauthorizedException")

    module.handler(update(response_url.url, OLD_ROLE), FakeContext())

    body = response_url.body()
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", PHYSICAL_ID)


# --- Delete --------------------------------------------------------------------------------------


def test_delete_resets_this_stacks_role(apigateway: Stubber, response_url: ResponseRecorder) -> None:
    expect_get(apigateway, ROLE)
    expect_update(apigateway, RESET)

    body = module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == body == expected_body(
        "SUCCESS", f"Reset the account's role, which was this stack's {ROLE} (replace without a value)"
    )


def test_create_then_delete_leaves_the_account_without_a_role(
    account: Any, response_url: ResponseRecorder
) -> None:
    module.handler(request("Create", response_url.url), FakeContext())
    assert role_of(account) == ROLE

    module.handler(request("Delete", response_url.url), FakeContext())

    assert role_of(account) is None
    assert response_url.requests[-1]["body"] == json.dumps(expected_body(
        "SUCCESS", f"Reset the account's role, which was this stack's {ROLE} (replace without a value)"
    ))


def test_delete_falls_back_to_an_empty_value(apigateway: Stubber, response_url: ResponseRecorder) -> None:
    expect_get(apigateway, ROLE)
    expect_update(apigateway, RESET, "BadRequestException", "Invalid patch operation specified")
    expect_update(apigateway, RESET_EMPTY)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS", f"Reset the account's role, which was this stack's {ROLE} (replace with an empty value)"
    )


def test_delete_leaves_another_role_alone(account: Any, response_url: ResponseRecorder) -> None:
    set_role(account, OTHER_ROLE)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert role_of(account) == OTHER_ROLE
    assert response_url.body() == expected_body(
        "SUCCESS", f"The account uses {OTHER_ROLE}, not this stack's {ROLE}: left unchanged"
    )


def test_delete_of_an_account_without_a_role(account: Any, response_url: ResponseRecorder) -> None:
    module.handler(request("Delete", response_url.url), FakeContext())

    assert role_of(account) is None
    assert response_url.body() == expected_body(
        "SUCCESS", f"The account uses no role, not this stack's {ROLE}: left unchanged"
    )


def test_delete_of_a_failed_creation_with_a_bad_property(
    apigateway: Stubber, response_url: ResponseRecorder
) -> None:
    module.handler(request("Delete", response_url.url, "not-an-arn"), FakeContext())

    assert response_url.body() == expected_body("SUCCESS", "No role was recorded for this resource: nothing to do")


def test_delete_succeeds_when_the_account_cannot_be_read(
    apigateway: Stubber, response_url: ResponseRecorder
) -> None:
    apigateway.add_client_error("get_account", "AccessDeniedException", "not authorized", 403)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS",
        "Delete failed: ClientError: An error occurred (AccessDeniedException) when calling the GetAccount "
        "operation: not authorized; the account's API Gateway CloudWatch role was not reset",
    )


def test_delete_succeeds_when_the_reset_is_rejected(
    apigateway: Stubber, response_url: ResponseRecorder, sleeps: list[float]
) -> None:
    expect_get(apigateway, ROLE)
    expect_update(apigateway, RESET, "BadRequestException", "Invalid patch operation specified")
    expect_update(apigateway, RESET_EMPTY, "BadRequestException", "The role ARN is not well formed")

    module.handler(request("Delete", response_url.url), FakeContext())

    assert sleeps == []
    assert response_url.body() == expected_body(
        "SUCCESS",
        f"Delete failed: RoleNotReset: API Gateway rejected both resets of {ROLE}: replace without a value: "
        "BadRequestException: Invalid patch operation specified; replace with an empty value: "
        "BadRequestException: The role ARN is not well formed; the account's API Gateway CloudWatch role was "
        "not reset",
    )


def test_delete_retries_throttling_then_gives_up_in_time(
    apigateway: Stubber, response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = ClockContext(40_000)
    monkeypatch.setattr(module, "SLEEP", context.sleep)
    expect_get(apigateway, ROLE)
    for _ in range(3):  # at 0, 2 and 6 s: 34 s left then, less than 30 s after another 8 s
        expect_update(apigateway, RESET, "TooManyRequestsException", "Too Many Requests")

    module.handler(request("Delete", response_url.url), context)

    body = response_url.body()
    assert body["Status"] == "SUCCESS" and context.sleeps == [2.0, 4.0]
    assert body["Reason"] == (
        "Delete failed: OutOfTime: UpdateAccount still failing after 3 attempt(s) in 0 s, stopped to keep 30 s "
        "to respond; last error: TooManyRequestsException: Too Many Requests; the account's API Gateway "
        "CloudWatch role was not reset"
    )


def test_delete_without_time_left_still_responds(apigateway: Stubber, response_url: ResponseRecorder) -> None:
    module.handler(request("Delete", response_url.url), FakeContext(5_000))

    assert response_url.body() == expected_body(
        "SUCCESS",
        "Delete failed: OutOfTime: Less than 30 s left, not calling API Gateway; the account's API Gateway "
        "CloudWatch role was not reset",
    )


def test_unexpected_exception_in_delete_still_responds(
    apigateway: Stubber, response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(module, "_delete", broken)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS", "Delete failed: RuntimeError: boom; the account's API Gateway CloudWatch role was not reset"
    )


def test_long_reason_is_truncated(apigateway: Stubber, response_url: ResponseRecorder) -> None:
    apigateway.add_client_error("get_account", "AccessDeniedException", "x" * 5000, 403)

    module.handler(request("Delete", response_url.url), FakeContext())

    sent = response_url.only["body"]
    reason = json.loads(sent)["Reason"]
    assert len(reason) == module.MAX_REASON and reason.endswith("... (truncated)")
    assert len(sent.encode()) < 4096
