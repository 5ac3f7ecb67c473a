"""CloudFormation custom resource that deletes the images an Image Builder pipeline built.

Images made by pipeline runs are not stack resources, so nothing else removes them.

Properties: ``ImagePipelineArn``.

* Create / Update: nothing to do. The physical id is ``<ImagePipelineArn>/images-cleanup``, so
  an Update that changes the pipeline ARN returns a new physical id; CloudFormation takes that as
  a replacement and, in the cleanup phase, sends Delete for the *old* physical id: the images of
  the replaced pipeline are deleted, never those of the new one. Delete reads the pipeline ARN
  from the physical id itself, not from the properties, so it cannot target another pipeline.
* Delete: delete every image of the pipeline, tolerating what is already gone. (DeleteImage
  removes the Image Builder resource only, not the container image in ECR, which the stack's
  repository holds and CloudFormation empties.) A running build is cancelled first; a deletion that
  is throttled, or refused while a cancelled build winds down, is tried again, with exponential
  backoff, while the function has time for another call and its reply (``time_budget``).
  Delete always responds SUCCESS, with ``Reason`` naming what is left, if anything, and how to
  delete it; the README says the same ("Deleting"). Chosen over failing the Delete until nothing
  is left: an image left behind costs nothing and blocks nothing (its container image goes with the
  repository, and a recipe refuses deletion only while shared or named by a pipeline:
  DeleteContainerRecipe API reference), whereas a FAILED Delete stops the whole stack deletion in
  DELETE_FAILED, and retrying it repeats the calls that were throttled. The retries make leftovers
  rare (five minutes of them), the reply makes them visible.

No environment variables. The request's dispatch and its reply: ``custom_resource``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from cfn_response import REPLY_MS
from custom_resource import Outcome, Request, serve
from time_budget import OutOfTime, can_wait, check_time, client_config

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

# Created once per execution environment; tests stub it.
IMAGEBUILDER = boto3.client("imagebuilder", config=client_config())

# Keep this format: a deployed resource whose Update returned another physical id would get a Delete
# for its current one, deleting the images of the pipeline still in use.
PHYSICAL_ID_SUFFIX = "/images-cleanup"
# ImageStatus values of a build still running: DeleteImage fails with ResourceDependencyException
# until the build ends; CancelImageCreation ends it (asynchronously).
IN_PROGRESS = {"PENDING", "CREATING", "BUILDING", "TESTING", "DISTRIBUTING", "INTEGRATING"}
# Errors of DeleteImage a later attempt may not get: Image Builder's throttling (HTTP 429), the
# throttling and unavailability codes botocore's own attempts already retried.
RETRIED = {"CallRateLimitExceededException", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailableException"}
# Waits between rounds of retries: 1, 2, 4, 8, 16, 20, 20... seconds. Tests replace SLEEP.
INITIAL_BACKOFF_S = 1.0
MAX_BACKOFF_S = 20.0
SLEEP: Callable[[float], None] = time.sleep


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one custom resource request and PUT the response; returns the response body."""
    return serve(
        event,
        context,
        identify=_identify,
        create_or_update=_create_or_update,
        delete=_delete,
        default_id=f"images-cleanup-{event.get('RequestId')}",
        left_by_a_failed_delete="images of the pipeline may be left behind",
    )


def _identify(request: Request) -> str:
    return _pipeline_arn(request) + PHYSICAL_ID_SUFFIX


def _create_or_update(request: Request) -> Outcome:
    return Outcome(f"The images of {_pipeline_arn(request)} will be deleted with this resource")


def _delete(request: Request) -> str:
    return _delete_images(_pipeline_arn_of(request.physical_id), request.context)


def _pipeline_arn(request: Request) -> str:
    pipeline_arn = request.properties.get("ImagePipelineArn")
    if not isinstance(pipeline_arn, str) or not pipeline_arn.startswith("arn:"):
        raise ValueError(f"ImagePipelineArn must be an image pipeline ARN, got {pipeline_arn!r}")
    return pipeline_arn


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
    # Images to try (again), with the reason they are not deleted yet; cancelled builds are deleted
    # once their cancellation is over.
    pending = {summary["arn"]: "not attempted" for summary in summaries}
    cancelled: set[str] = set()
    for summary in summaries:
        arn, state = summary["arn"], (summary.get("state") or {}).get("status")
        if state == "DELETED":
            gone += 1
            del pending[arn]
        elif state in IN_PROGRESS:
            outcome = _cancel(arn, context)
            if outcome != "build cancelled":
                left.append(f"{arn} ({state}, {outcome})")
                del pending[arn]
            else:
                cancelled.add(arn)
    rounds, backoff_s = 0, INITIAL_BACKOFF_S
    while pending:
        rounds += 1
        for arn in list(pending):
            try:
                check_time(context, REPLY_MS)
                IMAGEBUILDER.delete_image(imageBuildVersionArn=arn)
                deleted += 1
                del pending[arn]
            except OutOfTime:
                break
            except ClientError as error:
                code = _code(error)
                if code == "ResourceNotFoundException":
                    gone += 1
                    del pending[arn]
                elif code in RETRIED or (code == "ResourceDependencyException" and arn in cancelled):
                    pending[arn] = code
                else:  # ResourceDependencyException: shared or in use; or any other
                    left.append(f"{arn} ({code})")
                    del pending[arn]
            except BotoCoreError as error:  # timeouts, connection errors: worth another attempt
                pending[arn] = type(error).__name__
        if not pending or not can_wait(context, backoff_s, REPLY_MS):
            break
        LOGGER.info("%d image(s) not deleted yet; trying again in %.0f s", len(pending), backoff_s)
        SLEEP(backoff_s)
        backoff_s = min(backoff_s * 2, MAX_BACKOFF_S)

    reason = f"Deleted {deleted} image(s) of {pipeline_arn}"
    if gone:
        reason += f", {gone} already gone"
    if pending or not listed_all:
        LOGGER.error("Out of time with %d image(s) of %s not deleted: %s", len(pending), pipeline_arn, pending)
        named = [f"{arn} ({why})" for arn, why in pending.items()] + ([] if listed_all else ["and more not listed"])
        reason += (f"; NOT FINISHED, out of time after {max(rounds, 1)} round{'s' if rounds > 1 else ''}: "
                   f"{len(pending)} image(s) left: {', '.join(named)}. Delete them with: aws imagebuilder "
                   "delete-image --image-build-version-arn <ARN> (README: Deleting)")
    if left:
        reason += f"; left behind {len(left)}: " + ", ".join(left)
    return reason


def _list_images(pipeline_arn: str, context: Any) -> tuple[list[dict[str, Any]], bool]:
    """All image summaries (listed before deleting, so deletions cannot shift the pages)."""
    summaries: list[dict[str, Any]] = []
    request: dict[str, Any] = {"imagePipelineArn": pipeline_arn, "maxResults": 100}
    while True:
        try:
            check_time(context, REPLY_MS)
        except OutOfTime:
            return summaries, False
        page = IMAGEBUILDER.list_image_pipeline_images(**request)
        summaries.extend(page.get("imageSummaryList") or [])
        if not page.get("nextToken"):
            return summaries, True
        request["nextToken"] = page["nextToken"]


def _cancel(arn: str, context: Any) -> str:
    """Cancel a running build so that it ends (its image can be deleted after); how it went."""
    try:
        check_time(context, REPLY_MS)
        IMAGEBUILDER.cancel_image_creation(imageBuildVersionArn=arn)  # clientToken: filled by botocore
        return "build cancelled"
    except ClientError as error:
        return f"cancel failed: {_code(error)}"
    except (BotoCoreError, OutOfTime) as error:
        return f"cancel failed: {type(error).__name__}"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))
