"""ensure_service_linked_role: Image Builder's service-linked role exists before the key that names it.

IAM's answers are played by botocore's Stubber, which checks each request against the service
model; the error codes are those of IAM's API reference (GetRole: NoSuchEntity;
CreateServiceLinkedRole: InvalidInput when the name is taken, AccessDenied under an SCP).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.constructs_lib.helper_function.runtime_support import (
    ACCOUNT,
    REGION,
    FakeContext,
    ResponseRecorder,
    custom_resource_request,
    load_runtime,
    response_url,  # noqa: F401 - the fixture
)

module = load_runtime("api_image", "ensure_service_linked_role")

SERVICE = "imagebuilder.amazonaws.com"
ROLE_NAME = "AWSServiceRoleForImageBuilder"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{SERVICE}/{ROLE_NAME}"
PHYSICAL_ID = f"{SERVICE}/{ROLE_NAME}"
SERVICE_TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ParallelClusterApi-ServiceRoleSetup-4hJkL2q9sDfG"
ROLE = {
    "Path": f"/aws-service-role/{SERVICE}/",
    "RoleName": ROLE_NAME,
    "RoleId": "AROA2EXAMPLE7IMAGEBLDR",
    "Arn": ROLE_ARN,
    "CreateDate": datetime.datetime(2025, 6, 2, 9, 14, 27, tzinfo=datetime.UTC),
}


def request(request_type: str, url: str, **properties: Any) -> dict[str, Any]:
    return custom_resource_request(
        request_type,
        url,
        service_token=SERVICE_TOKEN,
        resource_type="Custom::ServiceLinkedRole",
        logical_id="ImageBuildServiceRole5E1C2A3B",
        request_id="3c9e1f2a-7b4d-4e8f-a6c1-5d2b9e0f7a31",
        properties={"ServiceName": SERVICE, "RoleName": ROLE_NAME, **properties},
        physical_id=PHYSICAL_ID,
    )


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(module, "SLEEP", recorded.append)
    return recorded


@pytest.fixture
def iam() -> Iterator[Stubber]:
    """Every IAM call must be expected; an unexpected one fails the request."""
    with Stubber(module.IAM) as stub:
        yield stub
        stub.assert_no_pending_responses()


def role_missing(stub: Stubber) -> None:
    stub.add_client_error(
        "get_role", service_error_code="NoSuchEntity", http_status_code=404,
        service_message=f"The role with name {ROLE_NAME} cannot be found.", expected_params={"RoleName": ROLE_NAME},
    )


def role_exists(stub: Stubber) -> None:
    stub.add_response("get_role", {"Role": ROLE}, {"RoleName": ROLE_NAME})


def test_existing_role_is_used_as_it_is(iam: Stubber, response_url: ResponseRecorder, sleeps: list[float]) -> None:
    role_exists(iam)

    body = module.handler(request("Create", response_url.url), FakeContext(120_000))

    assert response_url.body() == body
    assert (body["Status"], body["PhysicalResourceId"], body["Data"]) == ("SUCCESS", PHYSICAL_ID, {"Arn": ROLE_ARN})
    assert body["Reason"] == f"{ROLE_NAME} already exists"
    assert sleeps == []


def test_fresh_account_gets_the_role_then_waits_for_kms_to_see_it(
    iam: Stubber, response_url: ResponseRecorder, sleeps: list[float]
) -> None:
    role_missing(iam)
    iam.add_response("create_service_linked_role", {"Role": ROLE}, {"AWSServiceName": SERVICE})

    body = module.handler(request("Create", response_url.url), FakeContext(120_000))

    assert (body["Status"], body["Data"]) == ("SUCCESS", {"Arn": ROLE_ARN})
    assert body["Reason"] == f"Created {ROLE_NAME} for {SERVICE}"
    # The key that names the role is created right after this response: give IAM time to propagate.
    assert sleeps == [module.SETTLE_SECONDS]


def test_the_wait_never_eats_the_time_to_respond(iam: Stubber, response_url: ResponseRecorder, sleeps: list[float]) -> None:
    role_missing(iam)
    iam.add_response("create_service_linked_role", {"Role": ROLE}, {"AWSServiceName": SERVICE})

    # Time for GetRole and CreateServiceLinkedRole, then 4 s more than the reply needs.
    module.handler(request("Create", response_url.url), FakeContext(120_000, 120_000, module.REPLY_MS + 4_000))

    assert sleeps == [4.0]


def test_role_created_meanwhile_by_someone_else(iam: Stubber, response_url: ResponseRecorder) -> None:
    role_missing(iam)
    iam.add_client_error(
        "create_service_linked_role", service_error_code="InvalidInput", http_status_code=400,
        service_message=f"Service role name {ROLE_NAME} has been taken in this account, please try a different suffix.",
        expected_params={"AWSServiceName": SERVICE},
    )
    role_exists(iam)

    body = module.handler(request("Create", response_url.url), FakeContext(120_000))

    assert (body["Status"], body["Data"]) == ("SUCCESS", {"Arn": ROLE_ARN})
    assert "created meanwhile" in body["Reason"]


def test_role_that_cannot_be_created_fails_with_the_command_to_run(iam: Stubber, response_url: ResponseRecorder) -> None:
    role_missing(iam)
    iam.add_client_error(
        "create_service_linked_role", service_error_code="AccessDenied", http_status_code=403,
        service_message="User is not authorized to perform: iam:CreateServiceLinkedRole with an explicit deny in a service control policy",
        expected_params={"AWSServiceName": SERVICE},
    )

    body = module.handler(request("Create", response_url.url), FakeContext(120_000))

    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == PHYSICAL_ID
    assert "does not exist and could not be created (AccessDenied" in body["Reason"]
    assert f"aws iam create-service-linked-role --aws-service-name {SERVICE}" in body["Reason"]


def test_delete_keeps_the_account_role(iam: Stubber, response_url: ResponseRecorder) -> None:
    """No IAM call at all: the role is shared by the account's Image Builder resources."""
    body = module.handler(request("Delete", response_url.url), FakeContext(120_000))

    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", PHYSICAL_ID)
    assert body["Reason"].startswith(f"{ROLE_NAME} is kept")


def test_delete_of_a_failed_creation_succeeds(iam: Stubber, response_url: ResponseRecorder) -> None:
    event = request("Delete", response_url.url, ServiceName="not-a-service")
    body = module.handler(event, FakeContext(120_000))

    assert body["Status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("properties", "named"),
    [({"ServiceName": "imagebuilder"}, "ServiceName"), ({"RoleName": "MyRole"}, "RoleName"), ({"RoleName": None}, "RoleName")],
)
def test_bad_properties_fail_naming_the_property(
    iam: Stubber, response_url: ResponseRecorder, properties: dict[str, Any], named: str
) -> None:
    body = module.handler(request("Create", response_url.url, **properties), FakeContext(120_000))

    assert body["Status"] == "FAILED"
    assert f"{named} must be" in body["Reason"]


def test_other_iam_errors_fail_the_request(iam: Stubber, response_url: ResponseRecorder) -> None:
    iam.add_client_error("get_role", service_error_code="AccessDenied", http_status_code=403, expected_params={"RoleName": ROLE_NAME})

    body = module.handler(request("Update", response_url.url), FakeContext(120_000))

    assert body["Status"] == "FAILED" and "AccessDenied" in body["Reason"]
