"""delete_pipeline_images: the custom resource that deletes a pipeline's images with the stack.

Image Builder is played by botocore's Stubber: every call is expected, in order. The Lambda
context runs on a simulated clock that only the handler's waits advance, so the tests see exactly
when it retries and when it stops.
"""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.constructs_lib.helper_function.runtime_support import (
    ACCOUNT,
    REGION,
    ClockContext,
    FakeContext,
    ResponseRecorder,
    custom_resource_request,
    custom_resource_response,
    load_runtime,
    page,
    response_url,  # noqa: F401 - the fixture
)

module = load_runtime("api_image", "delete_pipeline_images")

PIPELINE_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image-pipeline/pcluster-api"
PHYSICAL_ID = f"{PIPELINE_ARN}/images-cleanup"
SERVICE_TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ParallelClusterApi-DeletePipelineImages-3kTqW9xLpZ2m"
REQUEST_ID = "5f1c3c0e-2d2b-4c8e-9a51-8d2b7c6e4f10"
LOGICAL_ID = "ImageBuildPipelineImagesCleanup4F2A1B3C"


def image_arn(build: int, version: str = "3.16.1") -> str:
    return f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image/pcluster-api/{version}/{build}"


def summary(build: int, status: str = "AVAILABLE") -> dict[str, Any]:
    """An ImageSummary as ListImagePipelineImages returns it."""
    return {
        "arn": image_arn(build),
        "name": "pcluster-api",
        "type": "DOCKER",
        "version": f"3.16.1/{build}",
        "platform": "Linux",
        "state": {"status": status},
        "owner": ACCOUNT,
        "dateCreated": "2025-06-02T09:14:27.312Z",
        "outputResources": {"containers": [{"region": REGION, "imageUris": [f"repo:3.16.1-{build}"]}]},
        "buildType": "USER_INITIATED",
        "imageSource": "CUSTOM",
    }


def request(
    request_type: str, url: str, pipeline_arn: str = PIPELINE_ARN, **extra: Any
) -> dict[str, Any]:
    event = custom_resource_request(
        request_type,
        url,
        service_token=SERVICE_TOKEN,
        resource_type="Custom::PipelineImagesCleanup",
        logical_id=LOGICAL_ID,
        request_id=REQUEST_ID,
        properties={"ImagePipelineArn": pipeline_arn},
        physical_id=f"{pipeline_arn}/images-cleanup",
    )
    event.update(extra)
    return event


def expected_body(status: str, reason: str, physical_id: str = PHYSICAL_ID) -> dict[str, Any]:
    return custom_resource_response(
        status, reason, physical_id=physical_id, logical_id=LOGICAL_ID, request_id=REQUEST_ID
    )


# Time a check needs: one more call and the reply.
NEEDED_MS = module.longest_call_ms() + module.REPLY_MS
THROTTLED = "CallRateLimitExceededException"  # Image Builder's throttling error (HTTP 429)
HOW_TO_DELETE = ". Delete them with: aws imagebuilder delete-image --image-build-version-arn <ARN> (README: Deleting)"


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> ClockContext:
    """The Lambda context of a Delete with the function's five minutes; the handler's waits advance it."""
    context = ClockContext(300_000)
    monkeypatch.setattr(module, "SLEEP", context.sleep)
    return context


@pytest.fixture
def imagebuilder() -> Iterator[Stubber]:
    """Every Image Builder call must be expected; an unexpected one raises."""
    with Stubber(module.IMAGEBUILDER) as stub:
        yield stub
        stub.assert_no_pending_responses()


def expect_list(stub: Stubber, summaries: list[dict[str, Any]], token: str = "", next_token: str = "") -> None:
    params, response = page({"imagePipelineArn": PIPELINE_ARN, "maxResults": 100},
                            {"requestId": "r", "imageSummaryList": summaries}, token, next_token)
    stub.add_response("list_image_pipeline_images", response, params)


def expect_delete(stub: Stubber, build: int, error: str = "") -> None:
    params = {"imageBuildVersionArn": image_arn(build)}
    if error:
        status = {"ResourceNotFoundException": 404, THROTTLED: 429}.get(error, 400)
        message = f"{error} for {image_arn(build)}"
        stub.add_client_error("delete_image", error, message, status, expected_params=params)
    else:
        stub.add_response("delete_image", {"requestId": "r", "imageBuildVersionArn": image_arn(build)}, params)


# --- the response --------------------------------------------------------------------------------


def test_create_responds_success_with_a_stable_physical_id(
    imagebuilder: Stubber, response_url: ResponseRecorder
) -> None:
    body = module.handler(request("Create", response_url.url), FakeContext())

    sent = response_url.only
    assert sent["method"] == "PUT"
    # The pre-signed URL, query string included, is used as given.
    assert "http://" + sent["headers"]["Host"] + sent["path"] == response_url.url
    # Documented for the pre-signed S3 URL: an empty Content-Type (the URL is signed without one).
    content_type = {key.lower(): value for key, value in sent["headers"].items()}["content-type"]
    assert content_type == ""
    assert int(sent["headers"]["Content-Length"]) == len(sent["body"])
    expected = expected_body("SUCCESS", f"The images of {PIPELINE_ARN} will be deleted with this resource")
    assert json.loads(sent["body"]) == expected == body


def test_update_keeps_the_physical_id_of_the_same_pipeline(
    imagebuilder: Stubber, response_url: ResponseRecorder
) -> None:
    event = request("Update", response_url.url, OldResourceProperties={"ServiceToken": SERVICE_TOKEN,
                                                                        "ImagePipelineArn": PIPELINE_ARN})
    module.handler(event, FakeContext())

    assert response_url.body()["Status"] == "SUCCESS"
    assert response_url.body()["PhysicalResourceId"] == PHYSICAL_ID


def test_update_to_another_pipeline_replaces_without_deleting_anything(
    imagebuilder: Stubber, response_url: ResponseRecorder
) -> None:
    """A new physical id: CloudFormation later sends Delete for the old id, which names the old pipeline."""
    new_pipeline = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image-pipeline/pcluster-api-v2"
    event = request("Update", response_url.url, new_pipeline, PhysicalResourceId=PHYSICAL_ID,
                    OldResourceProperties={"ServiceToken": SERVICE_TOKEN, "ImagePipelineArn": PIPELINE_ARN})

    module.handler(event, FakeContext())

    assert response_url.body()["Status"] == "SUCCESS"
    assert response_url.body()["PhysicalResourceId"] == f"{new_pipeline}/images-cleanup"


def test_delete_after_a_replacement_cleans_the_pipeline_of_its_physical_id(
    imagebuilder: Stubber, response_url: ResponseRecorder
) -> None:
    """Even if the properties named the new pipeline, only the old id's pipeline is touched."""
    new_pipeline = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image-pipeline/pcluster-api-v2"
    event = request("Delete", response_url.url, new_pipeline, PhysicalResourceId=PHYSICAL_ID)
    expect_list(imagebuilder, [summary(1)])
    expect_delete(imagebuilder, 1)

    module.handler(event, FakeContext())

    assert response_url.body() == expected_body("SUCCESS", f"Deleted 1 image(s) of {PIPELINE_ARN}")


def test_create_with_a_bad_property_fails(imagebuilder: Stubber, response_url: ResponseRecorder) -> None:
    event = request("Create", response_url.url)
    event["ResourceProperties"] = {"ServiceToken": SERVICE_TOKEN}

    module.handler(event, FakeContext())

    assert response_url.body() == expected_body(
        "FAILED",
        "Create failed: ValueError: ImagePipelineArn must be an image pipeline ARN, got None",
        f"images-cleanup-{REQUEST_ID}",
    )


def test_unexpected_error_in_create_fails(
    imagebuilder: Stubber, response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "PHYSICAL_ID_SUFFIX", None)  # makes the handler raise TypeError

    module.handler(request("Create", response_url.url), FakeContext())

    body = response_url.body()
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", f"images-cleanup-{REQUEST_ID}")
    assert body["Reason"].startswith("Create failed: TypeError: ")


def test_unexpected_error_in_update_fails_and_keeps_the_physical_id(
    imagebuilder: Stubber, response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "PHYSICAL_ID_SUFFIX", None)  # makes the handler raise TypeError

    module.handler(request("Update", response_url.url), FakeContext())

    body = response_url.body()
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", PHYSICAL_ID)
    assert body["Reason"].startswith("Update failed: TypeError: ")


def test_delete_of_a_failed_creation_touches_nothing(
    imagebuilder: Stubber, response_url: ResponseRecorder
) -> None:
    event = request("Delete", response_url.url, PhysicalResourceId=f"images-cleanup-{REQUEST_ID}")

    module.handler(event, FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS",
        "No image pipeline was recorded for this resource: nothing to delete",
        f"images-cleanup-{REQUEST_ID}",
    )


def test_unusable_response_url_raises_for_lambda_to_retry(
    imagebuilder: Stubber, response_url: ResponseRecorder
) -> None:
    response_url.status = 403  # for example an expired pre-signed URL

    with pytest.raises(urllib.error.HTTPError):
        module.handler(request("Create", response_url.url), FakeContext())
    assert response_url.body()["Status"] == "SUCCESS"


# --- Delete --------------------------------------------------------------------------------------


def test_delete_deletes_every_image_of_every_page(imagebuilder: Stubber, response_url: ResponseRecorder) -> None:
    expect_list(imagebuilder, [summary(1), summary(2, "FAILED")], next_token="page-2")
    expect_list(imagebuilder, [summary(3, "CANCELLED"), summary(4, "DEPRECATED")], token="page-2")
    for build in (1, 2, 3, 4):
        expect_delete(imagebuilder, build)

    body = module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == body == expected_body("SUCCESS", f"Deleted 4 image(s) of {PIPELINE_ARN}")


def expect_cancel(stub: Stubber, build: int) -> None:
    # botocore adds the idempotency token after the Stubber checked the parameters.
    stub.add_response(
        "cancel_image_creation",
        {"requestId": "r", "clientToken": "t", "imageBuildVersionArn": image_arn(build)},
        {"imageBuildVersionArn": image_arn(build)},
    )


def test_delete_tolerates_gone_and_reports_what_is_left(
    imagebuilder: Stubber, response_url: ResponseRecorder, clock: ClockContext
) -> None:
    expect_list(imagebuilder, [summary(1), summary(2), summary(3), summary(4, "BUILDING"), summary(5, "DELETED")])
    # A running build cannot be deleted: it is cancelled first, and deleted once the cancellation is done.
    expect_cancel(imagebuilder, 4)
    expect_delete(imagebuilder, 1)
    expect_delete(imagebuilder, 2, "ResourceNotFoundException")
    expect_delete(imagebuilder, 3, "ResourceDependencyException")  # e.g. shared with another account
    expect_delete(imagebuilder, 4, "ResourceDependencyException")  # still cancelling
    expect_delete(imagebuilder, 4)

    module.handler(request("Delete", response_url.url), clock)

    assert clock.sleeps == [1.0]
    assert response_url.body() == expected_body(
        "SUCCESS",
        f"Deleted 2 image(s) of {PIPELINE_ARN}, 2 already gone; left behind 1: "
        f"{image_arn(3)} (ResourceDependencyException)",
    )


def test_throttled_deletions_are_retried_until_every_image_is_gone(
    imagebuilder: Stubber, response_url: ResponseRecorder, clock: ClockContext
) -> None:
    """The issue's case: DeleteImage throttled; the cleanup gave up after 5.5 s, 4 of 10 images left, and said SUCCESS."""
    expect_list(imagebuilder, [summary(build) for build in range(1, 11)])
    for build in range(1, 7):
        expect_delete(imagebuilder, build)
    for build in range(7, 11):
        expect_delete(imagebuilder, build, THROTTLED)
    for build in range(7, 11):  # after 1 s: still throttled from the ninth
        expect_delete(imagebuilder, build, "" if build < 9 else THROTTLED)
    for build in (9, 10):  # after 2 s more
        expect_delete(imagebuilder, build)

    module.handler(request("Delete", response_url.url), clock)

    assert clock.sleeps == [1.0, 2.0]
    assert response_url.body() == expected_body("SUCCESS", f"Deleted 10 image(s) of {PIPELINE_ARN}")


def test_images_still_throttled_when_time_runs_out_are_named_with_how_to_delete_them(
    imagebuilder: Stubber, response_url: ResponseRecorder, clock: ClockContext
) -> None:
    """The stack still deletes (the leftovers cost nothing and block nothing); the reply says what is left."""
    expect_list(imagebuilder, [summary(1), summary(2), summary(3)])
    expect_delete(imagebuilder, 1)
    # Waits of 1, 2, 4, 8, 16, 20, 20, 20... while one more call and the reply still fit in what is left.
    waits = []
    left_ms = clock.remaining_ms
    while left_ms - (wait_ms := min(1_000 * 2 ** len(waits), 20_000)) >= NEEDED_MS:
        waits.append(wait_ms / 1000)
        left_ms -= wait_ms
    for _ in range(len(waits) + 1):
        expect_delete(imagebuilder, 2, THROTTLED)
        expect_delete(imagebuilder, 3, THROTTLED)

    module.handler(request("Delete", response_url.url), clock)

    assert clock.sleeps == waits and sum(waits) > 200  # most of the five minutes
    assert response_url.body() == expected_body(
        "SUCCESS",
        f"Deleted 1 image(s) of {PIPELINE_ARN}; NOT FINISHED, out of time after {len(waits) + 1} rounds: 2 image(s) "
        f"left: {image_arn(2)} ({THROTTLED}), {image_arn(3)} ({THROTTLED}){HOW_TO_DELETE}",
    )


def test_delete_reports_a_failed_cancellation(imagebuilder: Stubber, response_url: ResponseRecorder, clock: ClockContext) -> None:
    expect_list(imagebuilder, [summary(1, "TESTING")])
    imagebuilder.add_client_error("cancel_image_creation", "ResourceInUseException", "busy", 400)

    module.handler(request("Delete", response_url.url), clock)

    assert clock.sleeps == []  # the build goes on: nothing to wait for
    assert response_url.body()["Reason"] == (
        f"Deleted 0 image(s) of {PIPELINE_ARN}; left behind 1: "
        f"{image_arn(1)} (TESTING, cancel failed: ResourceInUseException)"
    )


def test_delete_when_the_pipeline_is_gone(imagebuilder: Stubber, response_url: ResponseRecorder) -> None:
    imagebuilder.add_client_error("list_image_pipeline_images", "ResourceNotFoundException", "gone", 404)

    module.handler(request("Delete", response_url.url), FakeContext())

    reason = f"Image pipeline {PIPELINE_ARN} not found: nothing to delete"
    assert response_url.body() == expected_body("SUCCESS", reason)


def test_delete_with_no_images(imagebuilder: Stubber, response_url: ResponseRecorder) -> None:
    """Documented: an unknown pipeline ARN lists no images rather than ResourceNotFoundException."""
    expect_list(imagebuilder, [])

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body("SUCCESS", f"Deleted 0 image(s) of {PIPELINE_ARN}")


def test_delete_stops_in_time_and_still_responds(imagebuilder: Stubber, response_url: ResponseRecorder) -> None:
    expect_list(imagebuilder, [summary(1), summary(2), summary(3)])
    expect_delete(imagebuilder, 1)
    # Checked before listing, then before each image: too little left before the second one.
    context = FakeContext(120_000, 60_000, NEEDED_MS - 1_000)

    module.handler(request("Delete", response_url.url), context)

    assert response_url.body() == expected_body(
        "SUCCESS",
        f"Deleted 1 image(s) of {PIPELINE_ARN}; NOT FINISHED, out of time after 1 round: 2 image(s) left: "
        f"{image_arn(2)} (not attempted), {image_arn(3)} (not attempted){HOW_TO_DELETE}",
    )


def test_delete_stops_listing_in_time(imagebuilder: Stubber, response_url: ResponseRecorder) -> None:
    expect_list(imagebuilder, [summary(1), summary(2)], next_token="page-2")

    module.handler(request("Delete", response_url.url), FakeContext(60_000, 10_000))

    assert response_url.body()["Reason"] == (
        f"Deleted 0 image(s) of {PIPELINE_ARN}; NOT FINISHED, out of time after 1 round: 2 image(s) left: "
        f"{image_arn(1)} (not attempted), {image_arn(2)} (not attempted), and more not listed{HOW_TO_DELETE}"
    )


def test_unexpected_error_in_delete_still_succeeds(imagebuilder: Stubber, response_url: ResponseRecorder) -> None:
    imagebuilder.add_client_error("list_image_pipeline_images", "AccessDeniedException", "not authorized", 403)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body() == expected_body(
        "SUCCESS",
        "Delete failed: AccessDeniedException: An error occurred (AccessDeniedException) when calling the "
        "ListImagePipelineImages operation: not authorized; images of the pipeline may be left behind",
    )


def test_unexpected_exception_in_delete_still_responds(
    imagebuilder: Stubber, response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(module, "_list_images", broken)

    module.handler(request("Delete", response_url.url), FakeContext())

    assert response_url.body()["Status"] == "SUCCESS"
    assert response_url.body()["Reason"].startswith("Delete failed: RuntimeError: boom")


def test_long_reason_is_truncated(imagebuilder: Stubber, response_url: ResponseRecorder) -> None:
    builds = range(1, 41)
    expect_list(imagebuilder, [summary(build) for build in builds])
    for build in builds:
        expect_delete(imagebuilder, build, "ResourceDependencyException")

    module.handler(request("Delete", response_url.url), FakeContext())

    sent = response_url.only["body"].encode()
    reason = json.loads(sent)["Reason"]
    assert reason.endswith("... (truncated)")
    assert reason.startswith(f"Deleted 0 image(s) of {PIPELINE_ARN}; left behind 40: {image_arn(1)}")
    assert len(sent) <= 4096
