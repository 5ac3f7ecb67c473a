"""ensure_account_role: the custom resource that sets API Gateway's CloudWatch role and never clobbers one.

The account's state is played by moto (5.2.5 models GetAccount / UpdateAccount and
``cloudwatchRoleArn`` without checking the role, REST and WebSocket API stages with their logging
settings, and IAM roles with their paths and inline policies). Exact requests and the services'
errors (IAM propagation, throttling, access denied, a role already gone) are played by botocore's
Stubber. A stubbed client raises on a call nobody expected, and the handler reports every error in
Reason, so tests that use the Stubber assert the whole Reason.
"""

from __future__ import annotations

import datetime
import json
import time
import urllib.error
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws
from moto.apigateway.models import Account

from constructs_lib.versions import SUPPORTED_PARALLELCLUSTER_VERSIONS
from tests.conftest import render, synthesize
from tests.constructs_lib.helper_function.runtime_support import (
    ACCOUNT,
    REGION,
    ClockContext,
    FakeContext,
    RealClockContext,
    ResponseRecorder,
    custom_resource_request,
    custom_resource_response,
    load_runtime,
    response_url,  # noqa: F401 - the fixture
)

module = load_runtime("api_logging", "ensure_account_role")

# The roles stacks of this project offer sit on this path (constructs_lib/api_logging), one per Region.
PATH = f"/parallelcluster-api/apigateway-account/{REGION}/"
ROLE = f"arn:aws:iam::{ACCOUNT}:role{PATH}ParallelClusterApi-ApiAccountRoleA857F210-7LmQx2Rt9ZpK"
ROLE_NAME = "ParallelClusterApi-ApiAccountRoleA857F210-7LmQx2Rt9ZpK"
# Another stack of this project, in the same account and Region.
SECOND_STACK_ROLE = f"arn:aws:iam::{ACCOUNT}:role{PATH}HpcApi-ApiAccountRoleA857F210-Q3wErT5yUi8o"
THIRD_STACK_ROLE = f"arn:aws:iam::{ACCOUNT}:role{PATH}LabApi-ApiAccountRoleA857F210-Zx9Cv8Bn7Mq6"
# A stack of this project in another Region: its role may write logs there only.
OTHER_REGION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/parallelcluster-api/apigateway-account/us-east-1/UsApi-Role-1"
# Somebody's role on a deeper path (ListRoles' PathPrefix matches it): not a role a stack offered.
DEEPER_ROLE = f"arn:aws:iam::{ACCOUNT}:role{PATH}tools/LogShipper"
# The role of this stack before its path was introduced (replaced on the update that brings the path).
LEGACY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ParallelClusterApi-ApiAccountRoleA857F210-1AbCdE2fGhIj"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/APIGatewayToCloudWatchLogs"
PHYSICAL_ID = "apigateway-account-cloudwatch-role"
SERVICE_TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ParallelClusterApi-EnsureAccountRole-9sDfG4hJkL2q"
REQUEST_ID = "0b6c2f4e-8d1a-4f3b-9c7e-2a5d8e1f6b90"
LOGICAL_ID = "ApiAccountRoleSettingE65A65CF"
PROPAGATION = "The role ARN does not have required permissions set to API Gateway"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:third-party-access-logs"
FIREHOSE = f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/amazon-apigateway-access-logs"


def set_to(role: str) -> dict[str, Any]:
    return {"patchOperations": [{"op": "replace", "path": "/cloudwatchRoleArn", "value": role}]}


SET = set_to(ROLE)
RESET = {"patchOperations": [{"op": "replace", "path": "/cloudwatchRoleArn"}]}
RESET_EMPTY = set_to("")


def request(request_type: str, url: str, role_arn: str = ROLE, **extra: Any) -> dict[str, Any]:
    event = custom_resource_request(
        request_type,
        url,
        service_token=SERVICE_TOKEN,
        resource_type="Custom::ApiGatewayAccountRole",
        logical_id=LOGICAL_ID,
        request_id=REQUEST_ID,
        properties={"RoleArn": role_arn},
        physical_id=PHYSICAL_ID,
    )
    event.update(extra)
    return event


def update(url: str, old_role: str, new_role: str = ROLE) -> dict[str, Any]:
    return request(
        "Update", url, new_role, OldResourceProperties={"ServiceToken": SERVICE_TOKEN, "RoleArn": old_role}
    )


def expected_body(status: str, reason: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    return custom_resource_response(
        status, reason, physical_id=PHYSICAL_ID, logical_id=LOGICAL_ID, request_id=REQUEST_ID, data=data
    )


def ours(role: str = ROLE) -> dict[str, str]:
    return {"RoleArn": role, "SetByThisStack": "true"}


def theirs(role: str = OTHER_ROLE) -> dict[str, str]:
    return {"RoleArn": role, "SetByThisStack": "false"}


def last_body(response_url: ResponseRecorder) -> dict[str, Any]:
    return json.loads(response_url.requests[-1]["body"])


def name_of(role: str) -> str:
    return role.rsplit("/", 1)[1]


class Hooked:
    """A client whose ``operation`` runs ``hook(call number, params)`` first; the hook may raise."""

    def __init__(self, client: Any, operation: str, hook: Callable[[int, dict[str, Any]], None]) -> None:
        self._client, self._operation, self._hook = client, operation, hook
        self.calls: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        if name != self._operation:
            return getattr(self._client, name)

        def call(**params: Any) -> Any:
            self.calls.append(params)
            self._hook(len(self.calls), params)
            return getattr(self._client, name)(**params)

        return call


def client_error(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """No test really waits unless it says so; the backoff delays asked for are recorded."""
    recorded: list[float] = []
    monkeypatch.setattr(module, "SLEEP", recorded.append)
    return recorded


# --- moto: the account's state -------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    """API Gateway (REST and v2) and IAM in moto, with the handler's clients pointed at them."""
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
        clients = SimpleNamespace(
            apigateway=boto3.client("apigateway", region_name=REGION),
            apigatewayv2=boto3.client("apigatewayv2", region_name=REGION),
            iam=boto3.client("iam", region_name=REGION),
        )
        monkeypatch.setattr(module, "APIGATEWAY", clients.apigateway)
        monkeypatch.setattr(module, "APIGATEWAY_V2", clients.apigatewayv2)
        monkeypatch.setattr(module, "IAM", clients.iam)
        offer(clients, OTHER_ROLE)  # somebody's role, on no path of this project
        yield clients


def set_role(aws: SimpleNamespace, role: str) -> None:
    aws.apigateway.update_account(patchOperations=set_to(role)["patchOperations"])


def role_of(aws: SimpleNamespace) -> str | None:
    return aws.apigateway.get_account().get("cloudwatchRoleArn") or None


def offer(aws: SimpleNamespace, role: str) -> str:
    """Create ``role`` as a stack of this project does: trusted by API Gateway, with its inline policy."""
    path, name = role.split(":role", 1)[1].rsplit("/", 1)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    push = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}
    created = aws.iam.create_role(Path=f"{path}/", RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    assert created["Role"]["Arn"] == role
    aws.iam.put_role_policy(RoleName=name, PolicyName="PushApiLogs", PolicyDocument=json.dumps(push))
    return role


def exists(aws: SimpleNamespace, role: str) -> bool:
    try:
        aws.iam.get_role(RoleName=name_of(role))
    except aws.iam.exceptions.NoSuchEntityException:
        return False
    return True


def rest_api(aws: SimpleNamespace, name: str, stage: str = "prod", **patch: str) -> str:
    """A REST API with one stage; ``patch`` maps stage paths (``/*/*/logging/loglevel``) to values."""
    api = aws.apigateway.create_rest_api(name=name)["id"]
    root = aws.apigateway.get_resources(restApiId=api)["items"][0]["id"]
    aws.apigateway.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="AWS_IAM")
    aws.apigateway.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    deployment = aws.apigateway.create_deployment(restApiId=api)["id"]
    aws.apigateway.create_stage(restApiId=api, stageName=stage, deploymentId=deployment)
    if patch:
        operations = [{"op": "replace", "path": path, "value": value} for path, value in patch.items()]
        aws.apigateway.update_stage(restApiId=api, stageName=stage, patchOperations=operations)
    return api


ACCESS_LOGS = "/accessLogSettings/destinationArn"
EXECUTION_LOGS = "/*/*/logging/loglevel"


# --- Stubber: exact requests ---------------------------------------------------------------------


@pytest.fixture
def stubs() -> Iterator[SimpleNamespace]:
    """Every call of the three clients must be expected; an unexpected one raises."""
    with Stubber(module.APIGATEWAY) as apigateway, Stubber(module.APIGATEWAY_V2) as apigatewayv2, \
            Stubber(module.IAM) as iam:
        yield SimpleNamespace(apigateway=apigateway, apigatewayv2=apigatewayv2, iam=iam)
        for stub in (apigateway, apigatewayv2, iam):
            stub.assert_no_pending_responses()


@pytest.fixture
def apigateway(stubs: SimpleNamespace) -> Stubber:
    return stubs.apigateway


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


def expect_offered_roles(stubs: SimpleNamespace, *roles: str) -> None:
    """ListRoles on this stack's path answers ``roles`` (created one day apart, the first oldest)."""
    listed = [
        {"Path": PATH, "RoleName": name_of(role), "RoleId": f"AROA{index:016d}", "Arn": role,
         "CreateDate": datetime.datetime(2026, 1, 1 + index, tzinfo=datetime.UTC)}
        for index, role in enumerate((ROLE, *roles))
    ]
    stubs.iam.add_response("list_roles", {"Roles": listed, "IsTruncated": False}, {"PathPrefix": PATH})


def expect_no_logging_apis(stubs: SimpleNamespace) -> None:
    stubs.apigateway.add_response("get_rest_apis", {"items": []}, {"limit": 500})
    stubs.apigatewayv2.add_response("get_apis", {"Items": []}, {})


def expect_role_deleted(stubs: SimpleNamespace, role: str = ROLE) -> None:
    name = name_of(role)
    stubs.iam.add_response("list_role_policies", {"PolicyNames": ["PushApiLogs"], "IsTruncated": False},
                           {"RoleName": name})
    stubs.iam.add_response("delete_role_policy", {}, {"RoleName": name, "PolicyName": "PushApiLogs"})
    stubs.iam.add_response("delete_role", {}, {"RoleName": name})


def expect_exists(stubs: SimpleNamespace, role: str) -> None:
    stubs.iam.add_response("get_role", {"Role": {
        "Path": role.split(":role", 1)[1].rsplit("/", 1)[0] + "/", "RoleName": name_of(role), "RoleId": "AROA0000000000000001",
        "Arn": role, "CreateDate": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        "AssumeRolePolicyDocument": "{}"}}, {"RoleName": name_of(role)})


def expect_gone(stubs: SimpleNamespace, role: str) -> None:
    stubs.iam.add_client_error("get_role", "NoSuchEntity", f"The role with name {name_of(role)} cannot be found.", 404,
                               expected_params={"RoleName": name_of(role)})


def expect_settled(stubs: SimpleNamespace, role: str | None) -> None:
    """The check after this stack's role is deleted: the account names ``role``, which exists (or none)."""
    expect_get(stubs.apigateway, role)
    if role is not None:
        expect_exists(stubs, role)


def out_of_time(left_s: int) -> str:
    """The OutOfTime message of a check with ``left_s`` seconds left."""
    needed = (module.longest_call_ms() + module.REPLY_MS) // 1000
    return (f"{left_s} s left, less than the {needed} s another AWS call (up to {module.longest_call_ms() // 1000} s) "
            "and what follows it need: stopped before calling AWS")


# What a check needs: one more call and the reply.
NEEDED_MS = module.longest_call_ms() + module.REPLY_MS
DELETED = f"Deleted this stack's role {ROLE_NAME}"


# --- Create --------------------------------------------------------------------------------------


def test_create_sets_the_role_of_an_account_without_one(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    assert role_of(aws) is None

    body = module.handler(request("Create", response_url.url), FakeContext())

    assert role_of(aws) == ROLE
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


def test_create_leaves_another_role_alone(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    set_role(aws, OTHER_ROLE)

    module.handler(request("Create", response_url.url), FakeContext())

    assert role_of(aws) == OTHER_ROLE
    assert response_url.body() == expected_body(
        "SUCCESS", f"The account already uses {OTHER_ROLE}, not set by this stack: left unchanged", theirs()
    )


def test_create_when_the_account_already_uses_this_role(apigateway: Stubber, response_url: ResponseRecorder) -> None:
    """For example a retried Create whose first response was lost: no call to UpdateAccount."""
    expect_get(apigateway, ROLE)

    module.handler(request("Create", response_url.url), FakeContext())

    assert response_url.body() == expected_body("SUCCESS", f"The account already uses {ROLE}", ours())


def test_create_reads_the_account_before_every_attempt(
    apigateway: Stubber, response_url: ResponseRecorder, sleeps: list[float]
) -> None:
    for error, message in (
        ("BadRequestException", PROPAGATION),
        ("TooManyRequestsException", "Too Many Requests"),
        ("BadRequestException", "API Gateway could not successfully write to CloudWatch Logs using the ARN specified"),
    ):
        expect_get(apigateway, None)
        expect_update(apigateway, SET, error, message)
    expect_get(apigateway, None)
    expect_update(apigateway, SET)

    module.handler(request("Create", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS", f"Set the account's role to {ROLE} (was no role; attempts: 4)", ours()
    )
    assert sleeps == [2.0, 4.0, 8.0]


def test_create_stops_when_a_role_appears_mid_retry(
    stubs: SimpleNamespace, response_url: ResponseRecorder, sleeps: list[float]
) -> None:
    """Somebody sets a role while the new role propagates: the next read sees it, no write follows."""
    apigateway = stubs.apigateway
    expect_get(apigateway, None)
    expect_update(apigateway, SET, "BadRequestException", PROPAGATION)
    expect_get(apigateway, None)
    expect_update(apigateway, SET, "BadRequestException", PROPAGATION)
    expect_get(apigateway, OTHER_ROLE)
    expect_exists(stubs, OTHER_ROLE)  # a role that exists is somebody's: never replaced

    module.handler(request("Create", response_url.url), FakeContext())

    assert sleeps == [2.0, 4.0]
    assert response_url.body() == expected_body(
        "SUCCESS",
        f"The account now uses {OTHER_ROLE}, set by someone else while this stack was setting its role (after 2 "
        "attempt(s)): left unchanged",
        theirs(),
    )


def test_a_role_set_during_the_backoff_is_not_overwritten(
    aws: SimpleNamespace, response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account's state in moto: the first write fails (IAM propagation); another role is set meanwhile."""

    def propagation(call: int, params: dict[str, Any]) -> None:
        if call == 1:
            raise client_error("UpdateAccount", "BadRequestException", PROPAGATION)

    flaky = Hooked(aws.apigateway, "update_account", propagation)
    monkeypatch.setattr(module, "APIGATEWAY", flaky)
    monkeypatch.setattr(module, "SLEEP", lambda seconds: set_role(aws, OTHER_ROLE))

    module.handler(request("Create", response_url.url), FakeContext())

    assert role_of(aws) == OTHER_ROLE
    assert flaky.calls == [SET]
    assert response_url.body()["Data"] == theirs()


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
    """130 s left, 52 s kept for one more call and the reply: attempts at 0, 2, 6, 14, 30, 50 and 70 s, then FAILED."""
    assert NEEDED_MS == 52_000  # 2 attempts of 3 + 10 s, 6 s of botocore's backoff, 20 s to reply
    context = ClockContext(130_000)
    monkeypatch.setattr(module, "SLEEP", context.sleep)
    for _ in range(7):
        expect_get(apigateway, None)
        expect_update(apigateway, SET, "BadRequestException", PROPAGATION)

    module.handler(request("Create", response_url.url), context)

    assert context.sleeps == [2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
    # All the time before the margin, not more: another 20 s wait would leave less than it.
    assert NEEDED_MS <= context.remaining_ms < NEEDED_MS + 20_000
    assert response_url.body() == expected_body(
        "FAILED",
        f"Create failed: RoleNotSet: Could not set the account's API Gateway CloudWatch role to {ROLE} "
        "(API Gateway cannot write the stage's logs without one): UpdateAccount still failing after 7 "
        "attempt(s) in 0 s, stopped to keep the time to respond; last error: BadRequestException: " + PROPAGATION,
    )


def test_create_gives_up_in_real_time(response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    """With real sleeps (shortened) and 0.4 s of time before the margin: FAILED in about 0.4 s."""
    monkeypatch.setattr(module, "SLEEP", time.sleep)
    monkeypatch.setattr(module, "INITIAL_BACKOFF_S", 0.02)
    monkeypatch.setattr(module, "MAX_BACKOFF_S", 0.08)
    with Stubber(module.APIGATEWAY) as stub:  # more errors queued than can be used
        for _ in range(50):
            expect_get(stub, None)
            expect_update(stub, SET, "BadRequestException", PROPAGATION)
        started = time.monotonic()

        module.handler(request("Create", response_url.url), RealClockContext(NEEDED_MS + 400))

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


def test_create_without_time_left_fails_without_calling(apigateway: Stubber, response_url: ResponseRecorder) -> None:
    module.handler(request("Create", response_url.url), FakeContext(NEEDED_MS - 1_000))

    assert response_url.body() == expected_body(
        "FAILED",
        f"Create failed: RoleNotSet: Could not set the account's API Gateway CloudWatch role to {ROLE} (API "
        f"Gateway cannot write the stage's logs without one): {out_of_time(51)}",
    )


@pytest.mark.parametrize("role_arn", [None, "", "ParallelClusterApi-Role", f"arn:aws:iam::{ACCOUNT}:user/x"])
def test_create_with_a_bad_property_fails(apigateway: Stubber, response_url: ResponseRecorder, role_arn: Any) -> None:
    module.handler(request("Create", response_url.url, role_arn), FakeContext())

    assert response_url.body() == expected_body(
        "FAILED", f"Create failed: ValueError: RoleArn must be an IAM role ARN, got {role_arn!r}"
    )


def test_unknown_request_type_fails(apigateway: Stubber, response_url: ResponseRecorder) -> None:
    module.handler(request("Replace", response_url.url), FakeContext())

    reason = "Replace failed: ValueError: Unknown RequestType 'Replace'"
    assert response_url.body() == expected_body("FAILED", reason)


def test_unusable_response_url_raises_for_lambda_to_retry(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    response_url.status = 403  # for example an expired pre-signed URL

    with pytest.raises(urllib.error.HTTPError):
        module.handler(request("Create", response_url.url), FakeContext())
    assert response_url.body()["Status"] == "SUCCESS"
    # The retry finds the account using this stack's role and reports it the same way.
    response_url.status, response_url.requests = 200, []
    module.handler(request("Create", response_url.url), FakeContext())
    assert response_url.body() == expected_body("SUCCESS", f"The account already uses {ROLE}", ours())


# --- Update --------------------------------------------------------------------------------------


def test_update_moves_the_account_from_the_role_the_new_path_replaces(
    aws: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    """The update that brings the dedicated path replaces the role: the setting follows it.

    CloudFormation deletes the replaced role in its cleanup phase (UpdateReplacePolicy: Delete,
    checked in the template test); the handler itself deletes no role on Update.
    """
    offer(aws, LEGACY_ROLE)
    offer(aws, ROLE)
    set_role(aws, LEGACY_ROLE)

    module.handler(update(response_url.url, LEGACY_ROLE), FakeContext())

    assert role_of(aws) == ROLE
    assert exists(aws, LEGACY_ROLE) and exists(aws, ROLE)
    assert response_url.body() == expected_body(
        "SUCCESS", f"Set the account's role to {ROLE} (was this stack's previous role {LEGACY_ROLE}; attempts: 1)",
        ours(),
    )


def test_update_rollback_moves_the_account_back(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    """A failed update rolls back: CloudFormation sends Update with the old role as the new one."""
    set_role(aws, ROLE)

    module.handler(update(response_url.url, ROLE, LEGACY_ROLE), FakeContext())

    assert role_of(aws) == LEGACY_ROLE
    assert response_url.body()["Data"] == ours(LEGACY_ROLE)


def test_update_leaves_another_role_alone(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    set_role(aws, OTHER_ROLE)

    module.handler(update(response_url.url, LEGACY_ROLE), FakeContext())

    assert role_of(aws) == OTHER_ROLE
    assert response_url.body() == expected_body(
        "SUCCESS", f"The account already uses {OTHER_ROLE}, not set by this stack: left unchanged", theirs()
    )


def test_update_leaves_a_role_set_during_the_move_alone(
    stubs: SimpleNamespace, response_url: ResponseRecorder, sleeps: list[float]
) -> None:
    apigateway = stubs.apigateway
    expect_get(apigateway, LEGACY_ROLE)
    expect_update(apigateway, SET, "BadRequestException", PROPAGATION)
    expect_get(apigateway, OTHER_ROLE)
    expect_exists(stubs, OTHER_ROLE)

    module.handler(update(response_url.url, LEGACY_ROLE), FakeContext())

    assert response_url.body()["Data"] == theirs() and sleeps == [2.0]


def test_update_sets_the_role_of_an_account_without_one(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    """For example somebody reset it after the stack set it."""
    module.handler(update(response_url.url, LEGACY_ROLE), FakeContext())

    assert role_of(aws) == ROLE
    assert response_url.body()["Data"] == ours()


def test_update_with_the_same_role_changes_nothing(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    set_role(aws, ROLE)

    module.handler(update(response_url.url, ROLE), FakeContext())

    assert role_of(aws) == ROLE
    assert response_url.body() == expected_body("SUCCESS", f"The account already uses {ROLE}", ours())


def test_update_keeps_the_physical_id(stubs: SimpleNamespace, response_url: ResponseRecorder) -> None:
    """Another id would make CloudFormation send Delete for the old one, which would reset the role."""
    expect_get(stubs.apigateway, OTHER_ROLE)
    expect_exists(stubs, OTHER_ROLE)

    module.handler(update(response_url.url, LEGACY_ROLE), FakeContext())

    assert response_url.body()["Status"] == "SUCCESS"
    assert response_url.body()["PhysicalResourceId"] == PHYSICAL_ID


def test_failed_update_keeps_the_physical_id(apigateway: Stubber, response_url: ResponseRecorder) -> None:
    expect_get(apigateway, LEGACY_ROLE)
    expect_update(apigateway, SET, "UnauthorizedException")

    module.handler(update(response_url.url, LEGACY_ROLE), FakeContext())

    body = response_url.body()
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", PHYSICAL_ID)


# --- Delete: two stacks, third-party APIs (moto) --------------------------------------------------


def test_two_stacks_hand_the_setting_over_then_reset_it(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    first, second = offer(aws, ROLE), offer(aws, SECOND_STACK_ROLE)
    offer(aws, OTHER_REGION_ROLE)  # a stack of another Region: never a candidate here
    offer(aws, DEEPER_ROLE)  # the newest role under the path, but not on it
    module.handler(request("Create", response_url.url, first), FakeContext())
    assert role_of(aws) == first
    # The second stack finds the first one's role and leaves it; its API logs through it.
    module.handler(request("Create", response_url.url, second), FakeContext())
    assert role_of(aws) == first and last_body(response_url)["Data"] == theirs(first)
    second_api = rest_api(aws, "HpcApi-ParallelClusterApi", **{ACCESS_LOGS: LOG_GROUP, EXECUTION_LOGS: "ERROR"})

    # Deleting the first stack hands the setting over to the second stack's role.
    module.handler(request("Delete", response_url.url, first), FakeContext())

    assert role_of(aws) == second
    assert not exists(aws, first) and exists(aws, second)
    assert exists(aws, OTHER_REGION_ROLE) and exists(aws, DEEPER_ROLE)
    assert last_body(response_url) == expected_body(
        "SUCCESS",
        f"Handed the account's role over from this stack's {first} to {second}, which another stack of this "
        f"project offered. Deleted this stack's role {name_of(first)}",
    )

    # Deleting the second stack (its stage, which depends on the custom resource, goes first):
    # nothing else logs, so the setting is reset and the role deleted.
    aws.apigateway.delete_stage(restApiId=second_api, stageName="prod")
    module.handler(request("Delete", response_url.url, second), FakeContext())

    assert role_of(aws) is None
    assert not exists(aws, second) and exists(aws, OTHER_REGION_ROLE)
    assert last_body(response_url) == expected_body(
        "SUCCESS",
        f"Reset the account's role, which was this stack's {second} (replace without a value). Deleted this "
        f"stack's role {name_of(second)}",
    )


def test_deleting_the_stack_whose_role_is_unused_keeps_the_setting(
    aws: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    first, second = offer(aws, ROLE), offer(aws, SECOND_STACK_ROLE)
    set_role(aws, first)

    module.handler(request("Delete", response_url.url, second), FakeContext())

    assert role_of(aws) == first and exists(aws, first) and not exists(aws, second)
    assert response_url.body() == expected_body(
        "SUCCESS",
        f"The account uses {first}, not this stack's {second}: left unchanged. Deleted this stack's role "
        f"{name_of(second)}",
    )


@pytest.mark.parametrize(
    ("logging", "described"),
    [
        ({ACCESS_LOGS: LOG_GROUP}, "access logs to CloudWatch Logs"),
        ({EXECUTION_LOGS: "INFO"}, "execution logs"),
        ({"/*/*/logging/dataTrace": "true"}, "data trace"),
    ],
)
def test_a_third_party_api_that_logs_keeps_the_setting_and_the_role(
    aws: SimpleNamespace, response_url: ResponseRecorder, logging: dict[str, str], described: str
) -> None:
    offer(aws, ROLE)
    set_role(aws, ROLE)
    rest_api(aws, "quiet-api")
    api = rest_api(aws, "orders-api", "live", **logging)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert role_of(aws) == ROLE and exists(aws, ROLE), described
    assert response_url.body() == expected_body(
        "SUCCESS",
        f"The account uses this stack's {ROLE}, and other APIs of {REGION} log through it: REST API orders-api "
        f"({api}), stage live: left the setting and the role. CloudFormation retains the role; once no other API "
        "logs through it, point the account's setting at another role (or reset it), then delete the role "
        f"{ROLE_NAME}, its inline policy first",
    )


def test_a_websocket_api_that_logs_keeps_the_setting_and_the_role(
    aws: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    offer(aws, ROLE)
    set_role(aws, ROLE)
    api = aws.apigatewayv2.create_api(Name="chat", ProtocolType="WEBSOCKET",
                                      RouteSelectionExpression="$request.body.action")["ApiId"]
    aws.apigatewayv2.create_stage(ApiId=api, StageName="quiet")
    aws.apigatewayv2.create_stage(ApiId=api, StageName="dev", DefaultRouteSettings={"LoggingLevel": "ERROR"})

    module.handler(request("Delete", response_url.url), FakeContext())

    assert role_of(aws) == ROLE and exists(aws, ROLE)
    assert f"WebSocket API chat ({api}), stage dev: left the setting and the role" in response_url.body()["Reason"]


def test_logging_that_does_not_use_the_account_role_does_not_count(
    aws: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    """Firehose access logs use API Gateway's service-linked role; HTTP APIs use log delivery."""
    offer(aws, ROLE)
    set_role(aws, ROLE)
    rest_api(aws, "firehose-api", **{ACCESS_LOGS: FIREHOSE, EXECUTION_LOGS: "OFF"})
    http = aws.apigatewayv2.create_api(Name="http", ProtocolType="HTTP")["ApiId"]
    aws.apigatewayv2.create_stage(ApiId=http, StageName="$default",
                                  AccessLogSettings={"DestinationArn": LOG_GROUP, "Format": "$context.requestId"})

    module.handler(request("Delete", response_url.url), FakeContext())

    assert role_of(aws) is None and not exists(aws, ROLE)


def test_at_most_five_apis_are_named(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    offer(aws, ROLE)
    set_role(aws, ROLE)
    for index in range(7):
        rest_api(aws, f"api-{index}", **{EXECUTION_LOGS: "ERROR"})

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body()["Reason"].count("REST API api-") == module.MAX_REPORTED_APIS == 5


def test_delete_stops_checking_apis_in_time_and_leaves_both(
    aws: SimpleNamespace, response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the Region's stages uses up the time: the setting and the role stay, the answer is sent."""
    offer(aws, ROLE)
    set_role(aws, ROLE)
    for index in range(3):
        rest_api(aws, f"api-{index}")
    context = ClockContext(300_000)

    def clock_runs_out(call: int, params: dict[str, Any]) -> None:
        context.remaining_ms = NEEDED_MS - 1_000

    monkeypatch.setattr(module, "APIGATEWAY", Hooked(aws.apigateway, "get_stages", clock_runs_out))

    module.handler(request("Delete", response_url.url), context)

    assert role_of(aws) == ROLE and exists(aws, ROLE)
    assert response_url.body() == expected_body(
        "SUCCESS",
        f"The account uses this stack's {ROLE}, and whether other APIs of {REGION} log through it could not be "
        f"checked (OutOfTime: {out_of_time(51)}): left the setting and the role. CloudFormation "
        "retains the role; once no other API logs through it, point the account's setting at another role (or "
        f"reset it), then delete the role {ROLE_NAME}, its inline policy first",
    )


def test_create_then_delete_leaves_the_account_without_a_role(
    aws: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    offer(aws, ROLE)
    module.handler(request("Create", response_url.url), FakeContext())
    assert role_of(aws) == ROLE

    module.handler(request("Delete", response_url.url), FakeContext())

    assert role_of(aws) is None and not exists(aws, ROLE)
    assert response_url.requests[-1]["body"] == json.dumps(expected_body(
        "SUCCESS", f"Reset the account's role, which was this stack's {ROLE} (replace without a value). {DELETED}"
    ))


def test_delete_of_an_account_without_a_role_deletes_the_unused_role(
    aws: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    offer(aws, ROLE)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert role_of(aws) is None and not exists(aws, ROLE)
    assert response_url.body() == expected_body(
        "SUCCESS", f"The account uses no role, not this stack's {ROLE}: left unchanged. {DELETED}"
    )


def test_delete_leaves_another_role_alone(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    offer(aws, ROLE)
    set_role(aws, OTHER_ROLE)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert role_of(aws) == OTHER_ROLE and not exists(aws, ROLE)


# --- Two stacks deleted at the same time, then a third created (moto) ----------------------------
#
# Each stack has its own setter function (another instance of the module, with its own clients on
# the same account). The interleavings pause one stack's Delete right after one of its AWS calls and
# run the other stack's whole Delete there. Whatever the order, the account must end on a role that
# exists, or on none, so that the next stack's Create can set its own.


class After:
    """A client whose ``operation`` runs ``action`` once, right after its ``call``-th call returned."""

    def __init__(self, client: Any, operation: str, action: Callable[[], None], call: int = 1) -> None:
        self._client, self._operation, self._action, self._call = client, operation, action, call
        self.calls = 0
        self.ran = False

    def __getattr__(self, name: str) -> Any:
        if name != self._operation:
            return getattr(self._client, name)

        def call(**params: Any) -> Any:
            result = getattr(self._client, name)(**params)
            self.calls += 1
            if self.calls == self._call:
                self._action()
                self.ran = True
            return result

        return call


def setter_of_another_stack(aws: SimpleNamespace, **clients: Any) -> Any:
    """The setter function of another stack: the same code, its own clients (``clients`` overrides some)."""
    setter = load_runtime("api_logging", "ensure_account_role")
    setter.APIGATEWAY = clients.get("apigateway", aws.apigateway)
    setter.APIGATEWAY_V2 = aws.apigatewayv2
    setter.IAM = clients.get("iam", aws.iam)
    setter.SLEEP = lambda seconds: None
    return setter


def two_stacks(aws: SimpleNamespace, response_url: ResponseRecorder) -> tuple[str, str]:
    """Stack A set the account's role; stack B found it and left it. Both APIs are gone (their stages first)."""
    first, second = offer(aws, ROLE), offer(aws, SECOND_STACK_ROLE)
    module.handler(request("Create", response_url.url, first), FakeContext())
    module.handler(request("Create", response_url.url, second), FakeContext())
    assert role_of(aws) == first
    return first, second


def assert_account_role_exists_or_none(aws: SimpleNamespace) -> None:
    current = role_of(aws)
    assert current is None or exists(aws, current), f"the account names {current}, which no longer exists"


def a_third_stack_sets_its_role(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    third = offer(aws, THIRD_STACK_ROLE)
    module.handler(request("Create", response_url.url, third), FakeContext())
    assert role_of(aws) == third
    assert last_body(response_url)["Data"] == ours(third)


def delete_during_another_delete(
    aws: SimpleNamespace, response_url: ResponseRecorder, role: str, other_role: str, client: str, operation: str
) -> None:
    """Delete the stack that offered ``role``, running the other stack's whole Delete right after its
    first ``operation`` call on its ``client`` (``apigateway`` or ``iam``); then check the account."""
    other_stack = setter_of_another_stack(aws)
    paused = After(getattr(aws, client), operation,
                   lambda: other_stack.handler(request("Delete", response_url.url, other_role), FakeContext()))
    stack = setter_of_another_stack(aws, **{client: paused})

    stack.handler(request("Delete", response_url.url, role), FakeContext())

    assert paused.ran, "the interleaving happened"
    assert not exists(aws, role) and not exists(aws, other_role)
    assert_account_role_exists_or_none(aws)


def test_b_reads_the_setting_then_a_hands_it_over_to_b_and_both_delete_their_roles(
    aws: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    """B sees A's role and leaves it; A hands the setting over to B's role; B then deletes its role."""
    first, second = two_stacks(aws, response_url)

    delete_during_another_delete(aws, response_url, second, first, "apigateway", "get_account")

    assert role_of(aws) is None
    assert last_body(response_url)["Reason"].endswith(
        f"Then the account named this stack's deleted role {second} (another stack's Delete handed it over "
        "meanwhile): reset it (replace without a value)"
    )
    a_third_stack_sets_its_role(aws, response_url)


def test_a_lists_b_then_b_deletes_its_role_before_a_hands_over(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    """The reverse: A finds B's role among the offered ones; B's whole Delete runs; A would hand over to a deleted role."""
    first, second = two_stacks(aws, response_url)

    delete_during_another_delete(aws, response_url, first, second, "iam", "list_roles")

    assert role_of(aws) is None
    assert last_body(response_url)["Reason"] == (
        f"Reset the account's role, which was this stack's {first} (replace without a value) (the roles other "
        f"stacks offered are gone: {second}). Deleted this stack's role {name_of(first)}"
    )
    a_third_stack_sets_its_role(aws, response_url)


def test_b_deletes_its_role_between_the_check_and_the_hand_over(
    aws: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    """A checks that B's role exists; B's whole Delete runs before A's write: A finds out once its own role is gone."""
    first, second = two_stacks(aws, response_url)

    delete_during_another_delete(aws, response_url, first, second, "iam", "get_role")

    assert role_of(aws) is None
    assert last_body(response_url)["Reason"] == (
        f"Handed the account's role over from this stack's {first} to {second}, which another stack of this "
        f"project offered. Deleted this stack's role {name_of(first)}. Then the account named {second}, which no "
        "longer exists: reset it (replace without a value)"
    )
    a_third_stack_sets_its_role(aws, response_url)


def test_a_delete_hands_a_dangling_setting_over_to_a_role_that_exists(
    aws: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    """A third stack still offers a role (older than B's, so A hands over to B): the setting goes to it, not to nothing."""
    third = offer(aws, THIRD_STACK_ROLE)
    first, second = two_stacks(aws, response_url)

    delete_during_another_delete(aws, response_url, second, first, "apigateway", "get_account")

    assert role_of(aws) == third
    assert last_body(response_url)["Reason"].endswith(
        f"Then the account named this stack's deleted role {second} (another stack's Delete handed it over "
        f"meanwhile): handed it over to {third}, which another stack of this project offered"
    )


def test_create_takes_a_setting_that_names_a_deleted_role_for_no_role(
    aws: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    """What today's race left behind: the account names a role that is gone; logging is broken for every API."""
    set_role(aws, SECOND_STACK_ROLE)  # never created, or deleted since
    offer(aws, ROLE)

    module.handler(request("Create", response_url.url), FakeContext())

    assert role_of(aws) == ROLE
    assert response_url.body() == expected_body(
        "SUCCESS",
        f"Set the account's role to {ROLE} (was {SECOND_STACK_ROLE}, a role that no longer exists; attempts: 1)",
        ours(),
    )


def test_create_leaves_a_role_of_another_account_alone(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    """IAM answers only for this account's roles: one it cannot look up is not taken for missing."""
    elsewhere = "arn:aws:iam::210987654321:role/CentralApiGatewayLogs"
    set_role(aws, elsewhere)
    offer(aws, ROLE)

    module.handler(request("Create", response_url.url), FakeContext())

    assert role_of(aws) == elsewhere
    assert response_url.body()["Data"] == theirs(elsewhere)


# --- Delete: exact requests (Stubber) -------------------------------------------------------------


def test_delete_resets_this_stacks_role(stubs: SimpleNamespace, response_url: ResponseRecorder) -> None:
    expect_get(stubs.apigateway, ROLE)
    expect_offered_roles(stubs)
    expect_no_logging_apis(stubs)
    expect_get(stubs.apigateway, ROLE)  # read again right before the write
    expect_update(stubs.apigateway, RESET)
    expect_get(stubs.apigateway, None)  # the reset took effect
    expect_role_deleted(stubs)
    expect_settled(stubs, None)  # read again once the role is gone

    body = module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == body == expected_body(
        "SUCCESS", f"Reset the account's role, which was this stack's {ROLE} (replace without a value). {DELETED}"
    )


def test_delete_hands_over_to_the_newest_offered_role(stubs: SimpleNamespace, response_url: ResponseRecorder) -> None:
    expect_get(stubs.apigateway, ROLE)
    expect_offered_roles(stubs, SECOND_STACK_ROLE, THIRD_STACK_ROLE)  # the third is the newest
    expect_exists(stubs, THIRD_STACK_ROLE)  # handed over only to a role that exists
    expect_get(stubs.apigateway, ROLE)
    expect_update(stubs.apigateway, set_to(THIRD_STACK_ROLE))
    expect_role_deleted(stubs)
    expect_settled(stubs, THIRD_STACK_ROLE)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS",
        f"Handed the account's role over from this stack's {ROLE} to {THIRD_STACK_ROLE}, which another stack of "
        f"this project offered. {DELETED}",
    )


def test_delete_tries_the_next_offered_role_when_api_gateway_refuses_one(
    stubs: SimpleNamespace, response_url: ResponseRecorder, sleeps: list[float]
) -> None:
    expect_get(stubs.apigateway, ROLE)
    expect_offered_roles(stubs, SECOND_STACK_ROLE, THIRD_STACK_ROLE)
    expect_exists(stubs, THIRD_STACK_ROLE)
    expect_get(stubs.apigateway, ROLE)
    expect_update(stubs.apigateway, set_to(THIRD_STACK_ROLE), "BadRequestException", PROPAGATION)
    expect_exists(stubs, SECOND_STACK_ROLE)
    expect_get(stubs.apigateway, ROLE)
    expect_update(stubs.apigateway, set_to(SECOND_STACK_ROLE), "TooManyRequestsException", "Too Many Requests")
    expect_get(stubs.apigateway, ROLE)
    expect_update(stubs.apigateway, set_to(SECOND_STACK_ROLE))
    expect_role_deleted(stubs)
    expect_settled(stubs, SECOND_STACK_ROLE)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert sleeps == [2.0]
    assert response_url.body()["Reason"].startswith(f"Handed the account's role over from this stack's {ROLE} to "
                                                    f"{SECOND_STACK_ROLE}")


def test_delete_resets_when_every_offered_role_is_refused(
    stubs: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    expect_get(stubs.apigateway, ROLE)
    expect_offered_roles(stubs, SECOND_STACK_ROLE)
    expect_exists(stubs, SECOND_STACK_ROLE)
    expect_get(stubs.apigateway, ROLE)
    expect_update(stubs.apigateway, set_to(SECOND_STACK_ROLE), "BadRequestException", PROPAGATION)
    expect_no_logging_apis(stubs)
    expect_get(stubs.apigateway, ROLE)
    expect_update(stubs.apigateway, RESET)
    expect_get(stubs.apigateway, None)
    expect_role_deleted(stubs)
    expect_settled(stubs, None)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body()["Reason"] == (
        f"Reset the account's role, which was this stack's {ROLE} (replace without a value) (API Gateway refused "
        f"the roles other stacks offered: {SECOND_STACK_ROLE} ({PROPAGATION})). {DELETED}"
    )


def test_delete_does_not_hand_over_a_setting_changed_meanwhile(
    stubs: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    """Somebody set a role between the first read and the hand-over: no write; this stack's role is unused."""
    expect_get(stubs.apigateway, ROLE)
    expect_offered_roles(stubs, SECOND_STACK_ROLE)
    expect_exists(stubs, SECOND_STACK_ROLE)
    expect_get(stubs.apigateway, OTHER_ROLE)
    expect_role_deleted(stubs)
    expect_settled(stubs, OTHER_ROLE)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body()["Reason"] == (
        f"The account now uses {OTHER_ROLE}, set meanwhile by someone else: left unchanged. {DELETED}"
    )


def test_delete_does_not_reset_a_setting_changed_meanwhile(
    stubs: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    expect_get(stubs.apigateway, ROLE)
    expect_offered_roles(stubs)
    expect_no_logging_apis(stubs)
    expect_get(stubs.apigateway, OTHER_ROLE)
    expect_role_deleted(stubs)
    expect_settled(stubs, OTHER_ROLE)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body()["Reason"] == (
        f"The account now uses {OTHER_ROLE}, set meanwhile by someone else: left unchanged. {DELETED}"
    )


def test_delete_falls_back_to_an_empty_value(stubs: SimpleNamespace, response_url: ResponseRecorder) -> None:
    expect_get(stubs.apigateway, ROLE)
    expect_offered_roles(stubs)
    expect_no_logging_apis(stubs)
    expect_get(stubs.apigateway, ROLE)
    expect_update(stubs.apigateway, RESET, "BadRequestException", "Invalid patch operation specified")
    expect_get(stubs.apigateway, ROLE)
    expect_update(stubs.apigateway, RESET_EMPTY)
    expect_get(stubs.apigateway, None)
    expect_role_deleted(stubs)
    expect_settled(stubs, None)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS", f"Reset the account's role, which was this stack's {ROLE} (replace with an empty value). {DELETED}"
    )


def test_delete_checks_that_the_reset_took_effect(stubs: SimpleNamespace, response_url: ResponseRecorder) -> None:
    """A reset API Gateway accepts but ignores would leave the setting naming a deleted role."""
    expect_get(stubs.apigateway, ROLE)
    expect_offered_roles(stubs)
    expect_no_logging_apis(stubs)
    for operation in (RESET, RESET_EMPTY):
        expect_get(stubs.apigateway, ROLE)
        expect_update(stubs.apigateway, operation)
        expect_get(stubs.apigateway, ROLE)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS",
        f"Delete failed: RoleNotReset: API Gateway did not reset the account's role {ROLE}: replace without a "
        "value: accepted, but the account still uses the role; replace with an empty value: accepted, but the "
        "account still uses the role; the account's API Gateway CloudWatch role setting and this stack's role were "
        "left as they were (see the function's log)",
    )


def test_delete_succeeds_when_the_reset_is_rejected(
    stubs: SimpleNamespace, response_url: ResponseRecorder, sleeps: list[float]
) -> None:
    expect_get(stubs.apigateway, ROLE)
    expect_offered_roles(stubs)
    expect_no_logging_apis(stubs)
    expect_get(stubs.apigateway, ROLE)
    expect_update(stubs.apigateway, RESET, "BadRequestException", "Invalid patch operation specified")
    expect_get(stubs.apigateway, ROLE)
    expect_update(stubs.apigateway, RESET_EMPTY, "BadRequestException", "The role ARN is not well formed")

    module.handler(request("Delete", response_url.url), FakeContext())

    assert sleeps == []
    assert response_url.body() == expected_body(
        "SUCCESS",
        f"Delete failed: RoleNotReset: API Gateway did not reset the account's role {ROLE}: replace without a "
        "value: BadRequestException: Invalid patch operation specified; replace with an empty value: "
        "BadRequestException: The role ARN is not well formed; the account's API Gateway CloudWatch role setting "
        "and this stack's role were left as they were (see the function's log)",
    )


def test_delete_of_a_role_outside_the_dedicated_path_lists_no_roles(
    stubs: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    """A path of "/" names no project: the account's other roles are never candidates."""
    expect_get(stubs.apigateway, LEGACY_ROLE)
    expect_no_logging_apis(stubs)
    expect_get(stubs.apigateway, LEGACY_ROLE)
    expect_update(stubs.apigateway, RESET)
    expect_get(stubs.apigateway, None)
    expect_role_deleted(stubs, LEGACY_ROLE)
    expect_settled(stubs, None)

    module.handler(request("Delete", response_url.url, LEGACY_ROLE), FakeContext())

    assert response_url.body()["Reason"].startswith(f"Reset the account's role, which was this stack's {LEGACY_ROLE}")


def test_deleting_the_role_tolerates_it_being_gone(stubs: SimpleNamespace, response_url: ResponseRecorder) -> None:
    expect_get(stubs.apigateway, None)
    stubs.iam.add_client_error("list_role_policies", "NoSuchEntity", f"The role with name {ROLE_NAME} cannot be "
                               "found.", 404, expected_params={"RoleName": ROLE_NAME})
    expect_settled(stubs, None)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body()["Reason"] == (
        f"The account uses no role, not this stack's {ROLE}: left unchanged. This stack's role {ROLE_NAME} was "
        "already deleted"
    )


def test_deleting_the_role_tolerates_its_policy_being_gone(
    stubs: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    expect_get(stubs.apigateway, None)
    stubs.iam.add_response("list_role_policies", {"PolicyNames": ["PushApiLogs"], "IsTruncated": True,
                                                  "Marker": "page-2"}, {"RoleName": ROLE_NAME})
    stubs.iam.add_client_error("delete_role_policy", "NoSuchEntity", "gone", 404,
                               expected_params={"RoleName": ROLE_NAME, "PolicyName": "PushApiLogs"})
    stubs.iam.add_response("list_role_policies", {"PolicyNames": ["Extra"], "IsTruncated": False},
                           {"RoleName": ROLE_NAME, "Marker": "page-2"})
    stubs.iam.add_response("delete_role_policy", {}, {"RoleName": ROLE_NAME, "PolicyName": "Extra"})
    stubs.iam.add_response("delete_role", {}, {"RoleName": ROLE_NAME})
    expect_settled(stubs, None)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body()["Reason"].endswith(DELETED)


def test_a_role_that_cannot_be_deleted_is_reported(stubs: SimpleNamespace, response_url: ResponseRecorder) -> None:
    """For example somebody attached a managed policy to it."""
    expect_get(stubs.apigateway, OTHER_ROLE)
    stubs.iam.add_response("list_role_policies", {"PolicyNames": [], "IsTruncated": False}, {"RoleName": ROLE_NAME})
    stubs.iam.add_client_error("delete_role", "DeleteConflict", "Cannot delete entity, must detach all policies "
                               "first.", 409, expected_params={"RoleName": ROLE_NAME})

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS",
        f"The account uses {OTHER_ROLE}, not this stack's {ROLE}: left unchanged. Could not delete this stack's "
        f"role {ROLE_NAME}, which CloudFormation retains (DeleteConflictException: An error occurred "
        "(DeleteConflict) when calling the DeleteRole operation: Cannot delete entity, must detach all policies "
        "first.): detach or delete its policies, then delete the role",
    )


def test_delete_of_a_failed_creation_with_a_bad_property(
    stubs: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    module.handler(request("Delete", response_url.url, "not-an-arn"), FakeContext())

    assert response_url.body() == expected_body("SUCCESS", "No role was recorded for this resource: nothing to do")


def test_delete_succeeds_when_the_account_cannot_be_read(
    stubs: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    stubs.apigateway.add_client_error("get_account", "AccessDeniedException", "not authorized", 403)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS",
        "Delete failed: ClientError: An error occurred (AccessDeniedException) when calling the GetAccount "
        "operation: not authorized; the account's API Gateway CloudWatch role setting and this stack's role were "
        "left as they were (see the function's log)",
    )


def test_delete_retries_throttling_then_gives_up_in_time(
    stubs: SimpleNamespace, response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = ClockContext(70_000)
    monkeypatch.setattr(module, "SLEEP", context.sleep)
    expect_get(stubs.apigateway, ROLE)
    expect_offered_roles(stubs)
    expect_no_logging_apis(stubs)
    for _ in range(4):  # at 0, 2, 6 and 14 s: 56 s left then, less than 52 s after another 16 s
        expect_get(stubs.apigateway, ROLE)
        expect_update(stubs.apigateway, RESET, "TooManyRequestsException", "Too Many Requests")

    module.handler(request("Delete", response_url.url), context)

    assert context.sleeps == [2.0, 4.0, 8.0]
    assert response_url.body() == expected_body(
        "SUCCESS",
        "Delete failed: OutOfTime: UpdateAccount still failing after 4 attempt(s) in 0 s, stopped to keep the time "
        "to respond; last error: TooManyRequestsException: Too Many Requests; the account's API Gateway CloudWatch "
        "role setting and this stack's role were left as they were (see the function's log)",
    )


def test_delete_without_time_left_still_responds(stubs: SimpleNamespace, response_url: ResponseRecorder) -> None:
    module.handler(request("Delete", response_url.url), FakeContext(5_000))

    assert response_url.body() == expected_body(
        "SUCCESS",
        f"Delete failed: OutOfTime: {out_of_time(5)}; the account's API Gateway CloudWatch role "
        "setting and this stack's role were left as they were (see the function's log)",
    )


def test_deleting_the_role_stops_in_time(
    stubs: SimpleNamespace, response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The setting was handed over; the time left is too short for the role: it stays, and the answer says so."""
    context = ClockContext(300_000)
    expect_get(stubs.apigateway, ROLE)
    expect_offered_roles(stubs, SECOND_STACK_ROLE)
    expect_exists(stubs, SECOND_STACK_ROLE)
    expect_get(stubs.apigateway, ROLE)
    expect_update(stubs.apigateway, set_to(SECOND_STACK_ROLE))
    stubs.iam.add_response("list_role_policies", {"PolicyNames": ["PushApiLogs"], "IsTruncated": False},
                           {"RoleName": ROLE_NAME})
    original = module.IAM.list_role_policies

    def then_out_of_time(**params: Any) -> Any:
        context.remaining_ms = 10_000
        return original(**params)

    monkeypatch.setattr(module.IAM, "list_role_policies", then_out_of_time)

    module.handler(request("Delete", response_url.url), context)

    assert response_url.body()["Reason"] == (
        f"Handed the account's role over from this stack's {ROLE} to {SECOND_STACK_ROLE}, which another stack of "
        f"this project offered. Could not delete this stack's role {ROLE_NAME}, which CloudFormation retains "
        f"(OutOfTime: {out_of_time(10)}): detach or delete its policies, then delete the role"
    )


def test_a_delete_hands_over_a_setting_that_names_somebodys_deleted_role(
    stubs: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    """Nothing logs through a role that is gone: once its own role is deleted, the Delete repairs that too."""
    expect_get(stubs.apigateway, OTHER_ROLE)
    expect_role_deleted(stubs)
    expect_get(stubs.apigateway, OTHER_ROLE)
    expect_gone(stubs, OTHER_ROLE)
    expect_offered_roles(stubs, SECOND_STACK_ROLE)
    expect_exists(stubs, SECOND_STACK_ROLE)
    expect_get(stubs.apigateway, OTHER_ROLE)
    expect_update(stubs.apigateway, set_to(SECOND_STACK_ROLE))
    expect_settled(stubs, SECOND_STACK_ROLE)  # checked again after the change

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS",
        f"The account uses {OTHER_ROLE}, not this stack's {ROLE}: left unchanged. {DELETED}. Then the account named "
        f"{OTHER_ROLE}, which no longer exists: handed it over to {SECOND_STACK_ROLE}, which another stack of this "
        "project offered",
    )


def test_the_check_after_deleting_the_role_says_what_to_do_when_it_cannot_be_made(
    stubs: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    expect_get(stubs.apigateway, None)
    expect_role_deleted(stubs)
    stubs.apigateway.add_client_error("get_account", "TooManyRequestsException", "Too Many Requests", 429)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS",
        f"The account uses no role, not this stack's {ROLE}: left unchanged. {DELETED}. Then the account's role "
        "could not be checked (TooManyRequestsException: An error occurred (TooManyRequestsException) when calling the "
        "GetAccount operation: Too Many Requests): if aws apigateway get-account names a role that no longer "
        "exists, point it at one that does (aws apigateway update-account --patch-operations "
        "op=replace,path=/cloudwatchRoleArn,value=<role ARN>)",
    )


def test_unexpected_exception_in_delete_still_responds(
    stubs: SimpleNamespace, response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(module, "_delete", broken)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS",
        "Delete failed: RuntimeError: boom; the account's API Gateway CloudWatch role setting and this stack's role "
        "were left as they were (see the function's log)",
    )


def test_long_reason_is_truncated(stubs: SimpleNamespace, response_url: ResponseRecorder) -> None:
    stubs.apigateway.add_client_error("get_account", "AccessDeniedException", "x" * 5000, 403)

    module.handler(request("Delete", response_url.url), FakeContext())

    sent = response_url.only["body"].encode()
    reason = json.loads(sent)["Reason"]
    assert reason.endswith("... (truncated)") and reason.startswith("Delete failed: ClientError: An error occurred")
    assert len(sent) <= 4096


def test_a_delete_naming_apis_with_japanese_names_fits_the_reply(
    aws: SimpleNamespace, response_url: ResponseRecorder
) -> None:
    """The issue's case: five logging APIs with Japanese names made a 7,308-byte reply, which
    CloudFormation refuses (the resource would stay DELETE_FAILED on every retry)."""
    offer(aws, ROLE)
    set_role(aws, ROLE)
    for index in range(5):
        rest_api(aws, f"並列計算クラスター管理API・研究開発部門・第{index}号・本番環境用" * 4, **{EXECUTION_LOGS: "ERROR"})

    module.handler(request("Delete", response_url.url), FakeContext())

    sent = response_url.only["body"].encode()
    assert len(sent) <= 4096
    body = json.loads(sent)
    assert body["Status"] == "SUCCESS"
    assert body["Reason"].startswith(f"The account uses this stack's {ROLE}, and other APIs of {REGION} log through it: "
                                     "REST API 並列計算クラスター管理API")
    assert body["Reason"].endswith("... (truncated)")
    assert role_of(aws) == ROLE and exists(aws, ROLE)


def test_stacks_of_different_versions_hand_the_setting_over(aws: SimpleNamespace, response_url: ResponseRecorder) -> None:
    """An API of the oldest and one of the newest served version, side by side: each offers its role as its
    template says (path, setter properties), so deleting either leaves the other's API logging."""
    offered = []
    for version in (SUPPORTED_PARALLELCLUSTER_VERSIONS[0], SUPPORTED_PARALLELCLUSTER_VERSIONS[-1]):
        resources = synthesize("default", version=version).template["Resources"]
        [setting] = [resource for resource in resources.values() if resource["Type"] == "Custom::ApiGatewayAccountRole"]
        logical_id = setting["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        path = render(resources[logical_id]["Properties"]["Path"], {"AWS::Region": REGION})
        # CloudFormation names the role after the stack, the logical id and a random suffix.
        stack = f"ParallelClusterApi{version.replace('.', '')}"
        offered.append(offer(aws, f"arn:aws:iam::{ACCOUNT}:role{path}{stack}-{logical_id}-{version.replace('.', 'x')}Q7"))
    oldest, newest = offered
    module.handler(request("Create", response_url.url, oldest), FakeContext())
    module.handler(request("Create", response_url.url, newest), FakeContext())
    assert role_of(aws) == oldest and last_body(response_url)["Data"] == theirs(oldest)

    module.handler(request("Delete", response_url.url, oldest), FakeContext())
    assert role_of(aws) == newest and not exists(aws, oldest)
    module.handler(request("Delete", response_url.url, newest), FakeContext())
    assert role_of(aws) is None and not exists(aws, newest)
