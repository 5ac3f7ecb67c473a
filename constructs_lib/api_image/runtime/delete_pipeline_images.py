"""CloudFormation custom resource that deletes the images an Image Builder pipeline built.

Images made by pipeline runs are not stack resources, so nothing else removes them. Raw custom
resource protocol: the ``ServiceToken`` is this function's ARN, CloudFormation invokes it
asynchronously and waits for the JSON response PUT to the pre-signed S3 ``ResponseURL``.

Properties: ``ImagePipelineArn``.

* Create / Update: nothing to do. The physical id is ``<ImagePipelineArn>/images-cleanup``, so
  an Update that changes the pipeline ARN returns a new physical id; CloudFormation takes that as
  a replacement and, in the cleanup phase, sends Delete for the *old* physical id: the images of
  the replaced pipeline are deleted, never those of the new one. Delete reads the pipeline ARN
  from the physical id itself, not from the properties, so it cannot target another pipeline.
* Delete: delete every image of the pipeline, within the function's time (a margin is kept to
  respond), tolerating what is already gone. (DeleteImage removes the Image Builder resource
  only, not the container image in ECR.) Delete always responds SUCCESS, even on errors:
  a leftover image must not block the stack deletion. ``Reason`` tells what was left behind.

No environment variables. The response is sent in all cases (``finally``); if the PUT itself
fails the handler raises, so Lambda's asynchronous retries (the handler is idempotent) send it.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from cfn_response import FAILED, SUCCESS, send_response

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

# Created once per execution environment; tests stub it. Timeouts keep a call (retry included)
# well under MARGIN_MS, so checking the remaining time before each call is enough.
IMAGEBUILDER = boto3.client(
    "imagebuilder",
    config=Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 2}),
)

# Keep this format: a deployed resource whose Update returned another physical id would get a Delete
# for its current one, deleting the images of the pipeline still in use.
PHYSICAL_ID_SUFFIX = "/images-cleanup"
# Stop calling Image Builder when less time than this is left, to still respond.
MARGIN_MS = 30_000
# ImageStatus values of a build still running: DeleteImage fails with ResourceDependencyException
# until the build ends; CancelImageCreation ends it (asynchronously).
IN_PROGRESS = {"PENDING", "CREATING", "BUILDING", "TESTING", "DISTRIBUTING", "INTEGRATING"}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one custom resource request and PUT the response; returns the response body."""
    request_type = event.get("RequestType")
    physical_id = event.get("PhysicalResourceId") or f"images-cleanup-{event.get('RequestId')}"
    status, reason = FAILED, "No outcome"
    try:
        if request_type == "Delete":
            reason = _delete_images(_pipeline_arn_of(physical_id), context)
            status = SUCCESS
        elif request_type in ("Create", "Update"):
            pipeline_arn = (event.get("ResourceProperties") or {}).get("ImagePipelineArn")
            if not isinstance(pipeline_arn, str) or not pipeline_arn.startswith("arn:"):
                raise ValueError(f"ImagePipelineArn must be an image pipeline ARN, got {pipeline_arn!r}")
            physical_id = pipeline_arn + PHYSICAL_ID_SUFFIX
            status, reason = SUCCESS, f"The images of {pipeline_arn} will be deleted with this resource"
        else:
            raise ValueError(f"Unknown RequestType {request_type!r}")
    except Exception as error:  # noqa: BLE001 - reported to CloudFormation below
        LOGGER.exception("%s request failed", request_type)
        # Never block the deletion of the stack (or the rollback of a failed creation).
        status = SUCCESS if request_type == "Delete" else FAILED
        reason = f"{request_type} failed: {type(error).__name__}: {error}"
        if request_type == "Delete":
            reason += "; images of the pipeline may be left behind"
    finally:
        body = send_response(event, status, reason, physical_id)
    return body


def _pipeline_arn_of(physical_id: str) -> str | None:
    """The pipeline ARN a physical id was issued for; None for the id of a failed creation."""
    if physical_id.startswith("arn:") and physical_id.endswith(PHYSICAL_ID_SUFFIX):
        return physical_id[: -len(PHYSICAL_ID_SUFFIX)]
    return None


def _delete_images(pipeline_arn: str | None, context: Any) -> str:
    """Delete the pipeline's images until done or out of time; returns the reason to report."""
    if pipeline_arn is None:
        return "No image pipeline was recorded for this resource: nothing to delete"
    try:
        summaries, listed_all = _list_images(pipeline_arn, context)
    except ClientError as error:
        # Documented: an unknown pipeline ARN gives an empty list; the error is modeled too.
        if _code(error) != "ResourceNotFoundException":
            raise
        return f"Image pipeline {pipeline_arn} not found: nothing to delete"

    deleted, gone, left = 0, 0, []
    not_attempted = 0
    for index, summary in enumerate(summaries):
        if _out_of_time(context):
            not_attempted = len(summaries) - index
            break
        arn, state = summary["arn"], (summary.get("state") or {}).get("status")
        if state == "DELETED":
            gone += 1
        elif state in IN_PROGRESS:
            left.append(f"{arn} ({state}, {_cancel(arn)})")
        else:
            try:
                IMAGEBUILDER.delete_image(imageBuildVersionArn=arn)
                deleted += 1
            except ClientError as error:
                if _code(error) == "ResourceNotFoundException":
                    gone += 1
                else:  # ResourceDependencyException: shared, in use or still building; or any other
                    left.append(f"{arn} ({_code(error)})")
            except BotoCoreError as error:  # timeouts, connection errors
                left.append(f"{arn} ({type(error).__name__})")

    reason = f"Deleted {deleted} image(s) of {pipeline_arn}"
    if gone:
        reason += f", {gone} already gone"
    if not_attempted or not listed_all:
        details = [f"{not_attempted} image(s) not attempted"] if not_attempted else []
        details += [] if listed_all else ["more not listed"]
        reason += f"; stopped early, less than {MARGIN_MS // 1000} s left: " + ", ".join(details)
    if left:
        reason += f"; left behind {len(left)}: " + ", ".join(left)
    return reason


def _list_images(pipeline_arn: str, context: Any) -> tuple[list[dict[str, Any]], bool]:
    """All image summaries (listed before deleting, so deletions cannot shift the pages)."""
    summaries: list[dict[str, Any]] = []
    request: dict[str, Any] = {"imagePipelineArn": pipeline_arn, "maxResults": 100}
    while True:
        if _out_of_time(context):
            return summaries, False
        page = IMAGEBUILDER.list_image_pipeline_images(**request)
        summaries.extend(page.get("imageSummaryList") or [])
        if not page.get("nextToken"):
            return summaries, True
        request["nextToken"] = page["nextToken"]


def _cancel(arn: str) -> str:
    """Cancel a running build so it stops creating resources; the image itself stays behind."""
    try:
        IMAGEBUILDER.cancel_image_creation(imageBuildVersionArn=arn)  # clientToken: filled by botocore
        return "build cancelled"
    except ClientError as error:
        return f"cancel failed: {_code(error)}"
    except BotoCoreError as error:
        return f"cancel failed: {type(error).__name__}"


def _out_of_time(context: Any) -> bool:
    return bool(context.get_remaining_time_in_millis() < MARGIN_MS)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))
