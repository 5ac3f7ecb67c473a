"""custom_resource.serve: the dispatch and reply every custom resource handler of this project shares.

Each handler's own tests reach it through their resource; these play a resource whose functions do
what a test needs, against the local stand-in for CloudFormation's pre-signed URL.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.constructs_lib.helper_function.runtime_support import (
    ACCOUNT,
    REGION,
    FakeContext,
    ResponseRecorder,
    custom_resource_request,
    load_runtime,
    response_url,  # noqa: F401 - the fixture
)

module = load_runtime("helper_function", "custom_resource")

DEFAULT_ID = "widget-default"
SENT_ID = "widget-sent"


def request(request_type: str, url: str, **properties: Any) -> dict[str, Any]:
    return custom_resource_request(
        request_type, url, service_token=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:widget",
        resource_type="Custom::Widget", logical_id="Widget", request_id="0d4c6a8e-1f3b-4c5d-8e9f-7a6b5c4d3e2f",
        properties=properties, physical_id=SENT_ID,
    )


def fail(message: str) -> Any:
    def raising(_: Any) -> Any:
        raise RuntimeError(message)

    return raising


def serve(event: dict[str, Any], **functions: Any) -> dict[str, Any]:
    defaults = {
        "identify": lambda request: f"widget-{request.properties['Name']}",
        "create_or_update": lambda request: module.Outcome(f"made {request.properties['Name']}", {"Size": "3"}),
        "delete": lambda request: f"deleted {request.physical_id}",
    }
    return module.serve(event, FakeContext(), default_id=DEFAULT_ID, **{**defaults, **functions})


def test_create_replies_with_the_outcome_and_the_id_identify_gives(response_url: ResponseRecorder) -> None:
    body = serve(request("Create", response_url.url, Name="blue"))

    assert response_url.body() == body
    assert (body["Status"], body["Reason"], body["PhysicalResourceId"], body["Data"]) == (
        "SUCCESS", "made blue", "widget-blue", {"Size": "3"}
    )


def test_a_create_that_fails_after_identify_keeps_the_id(response_url: ResponseRecorder) -> None:
    body = serve(request("Create", response_url.url, Name="blue"), create_or_update=fail("no room"))

    assert (body["Status"], body["Reason"], body["PhysicalResourceId"], body["Data"]) == (
        "FAILED", "Create failed: RuntimeError: no room", "widget-blue", {}
    )


@pytest.mark.parametrize(("request_type", "physical_id"), [("Create", DEFAULT_ID), ("Update", SENT_ID)])
def test_bad_properties_fail_before_the_resource_is_named(
    response_url: ResponseRecorder, request_type: str, physical_id: str
) -> None:
    body = serve(request(request_type, response_url.url), identify=fail("Name is missing"))

    assert (body["Status"], body["Reason"], body["PhysicalResourceId"]) == (
        "FAILED", f"{request_type} failed: RuntimeError: Name is missing", physical_id
    )


def test_without_identify_an_update_echoes_the_id_sent(response_url: ResponseRecorder) -> None:
    body = serve(request("Update", response_url.url, Name="red"), identify=None)

    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", SENT_ID)


def test_a_failed_outcome_replies_its_own_reason(response_url: ResponseRecorder) -> None:
    refused = serve(
        request("Update", response_url.url, Name="red"),
        create_or_update=lambda request: module.Outcome("red is not allowed here: pick blue", status="FAILED"),
    )

    assert (refused["Status"], refused["Reason"], refused["PhysicalResourceId"]) == (
        "FAILED", "red is not allowed here: pick blue", "widget-red"
    )


def test_delete_echoes_the_id_sent(response_url: ResponseRecorder) -> None:
    body = serve(request("Delete", response_url.url, Name="blue"), identify=fail("never called on Delete"))

    assert (body["Status"], body["Reason"], body["PhysicalResourceId"]) == ("SUCCESS", f"deleted {SENT_ID}", SENT_ID)


def test_a_delete_that_raises_still_succeeds_and_says_what_may_be_left(response_url: ResponseRecorder) -> None:
    event = request("Delete", response_url.url)

    plain = serve(event, delete=fail("boom"))
    with_leftovers = module.serve(
        event, FakeContext(), create_or_update=fail("-"), delete=fail("boom"), default_id=DEFAULT_ID,
        left_by_a_failed_delete="widgets may be left behind",
    )

    assert (plain["Status"], plain["Reason"]) == ("SUCCESS", "Delete failed: RuntimeError: boom")
    assert (with_leftovers["Status"], with_leftovers["Reason"]) == (
        "SUCCESS", "Delete failed: RuntimeError: boom; widgets may be left behind"
    )


def test_an_unknown_request_type_fails(response_url: ResponseRecorder) -> None:
    body = serve(request("Replace", response_url.url, Name="blue"))

    assert (body["Status"], body["Reason"]) == ("FAILED", "Replace failed: ValueError: Unknown RequestType 'Replace'")


def test_old_properties_reach_an_update_only(response_url: ResponseRecorder) -> None:
    seen = []

    def record(sent: Any) -> Any:
        seen.append((sent.request_type, sent.old_properties))
        return module.Outcome("done")

    for request_type in ("Create", "Update"):
        event = request(request_type, response_url.url, Name="blue")
        event["OldResourceProperties"] = {"Name": "red"}
        serve(event, create_or_update=record)

    assert seen == [("Create", {}), ("Update", {"Name": "red"})]
