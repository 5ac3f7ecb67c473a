"""Point the API function at each image this stack's Image Builder recipe makes available.

Subscribed to the SNS topic of the stack's infrastructure configuration. Image Builder publishes to
that topic when an image reaches ``AVAILABLE`` or ``FAILED`` (Image Builder user guide, "Amazon SNS
integration"); the message is the JSON of the image. Nothing in the message is trusted but the
image ARN, and even that only to look the image up: a forged message (published to the topic, or
sent by invoking this function directly) must not make the API function run foreign code. So, for
each record:

1. ``imagebuilder:GetImage`` on the ARN. This function may only read the images of this stack's
   recipe, so another account's or another recipe's image is refused by IAM already.
2. The image must be built from this stack's container recipe (``RECIPE_ARN``) with this stack's
   infrastructure configuration (``INFRASTRUCTURE_ARN``), by this stack's pipeline
   (``PIPELINE_ARN``) or by no pipeline (the stack's own ``AWS::ImageBuilder::Image``), target this
   stack's repository (``REPOSITORY_NAME``), and list an output URI in that repository in this
   Region.
3. ``FAILED``: logged with Image Builder's reason and where its build log is
   (``/aws/imagebuilder/<image name>``, stream ``<version>/<build>``: Image Builder user guide,
   "Monitor Image Builder logs with Amazon CloudWatch Logs"), or the image's own
   ``loggingConfiguration``. Other statuses but ``AVAILABLE``
   are ignored.
4. ``AVAILABLE``: the output tag is resolved to its digest in the repository
   (``ecr:DescribeImages``).
5. The tag ``RUNNING_TAG`` is moved to that digest (``BatchGetImage`` then ``PutImage`` of the same
   manifest, as the ECR user guide's "Retagging an image" does), so the repository's lifecycle
   policy keeps the image the function runs; then, for a pipeline's image, the function is
   updated to ``<repository URI>@<digest>``: pinned by digest, a later push of the same tag
   cannot change what it runs. An image the stack itself built (during a stack update) is only
   tagged: CloudFormation points the function at it, and a concurrent update would conflict.

Monotonic: an image is never promoted once a newer build of this stack's recipe is available. Right
before the retag (``PutImage``) and before each function update, ``ListImageBuildVersions`` of the
image's recipe version must show no ``AVAILABLE`` build with a higher build number (Image Builder
numbers a recipe version's builds in the order they start). Two builds that finish together are
two invocations, and the function is serialized without reserved concurrency (which new accounts,
whose concurrency limit is 10, cannot spare): each update names the ``RevisionId`` read before the
check (``UpdateFunctionCode``: "update the function only if the revision ID matches"), so an
update that another invocation made after the check fails with PreconditionFailedException, and
the read and the check are made again. ResourceConflictException (an update still in progress,
another invocation's or CloudFormation's) waits with exponential backoff and tries again, while
the function has time for another call (``time_budget``). So the newer build's invocation always
ends on its image, and the older one's either ends before the newer one is available or gives way.
The retag window that remains (another invocation retagging between this one's check and its
``PutImage``, a few milliseconds) can only leave the tag on an older image than the function runs,
which the lifecycle's rule for the newest images keeps anyway.

Environment: ``FUNCTION_NAME``, ``RECIPE_ARN``, ``INFRASTRUCTURE_ARN``, ``PIPELINE_ARN``,
``REPOSITORY_NAME``, ``REPOSITORY_URI``, ``RUNNING_TAG``.

SNS invokes Lambda asynchronously, and Lambda retries a failed asynchronous invocation twice. A
record that can never be processed (malformed, refused) is logged and dropped; an error of an AWS
API that a retry may fix (throttling, an update still in progress when time runs out) propagates,
and a final failure goes to the function's dead-letter queue (both raise CloudWatch alarms). Every
step is idempotent.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError
from time_budget import can_wait, check_time, client_config, longest_call_ms

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

# Created once per execution environment (reused across invocations); tests stub them. Each call
# is made only while the longest it can take still leaves KEEP_MS before the timeout (time_budget).
IMAGEBUILDER = boto3.client("imagebuilder", config=client_config())
ECR = boto3.client("ecr", config=client_config())
LAMBDA = boto3.client("lambda", config=client_config())
# Kept after the last call, to log and return rather than be stopped by the timeout.
KEEP_MS = 2_000
# Waits while the function has an update in progress: 2, 4, 8, 16, 20, 20... seconds. Tests replace SLEEP.
INITIAL_BACKOFF_S = 2.0
MAX_BACKOFF_S = 20.0
SLEEP: Callable[[float], None] = time.sleep

# The shape of an image build version ARN, .../image/<name>/<x.y.z>/<build>: only to drop garbage
# before asking Image Builder, which (with IAM) decides what the ARN really is.
IMAGE_ARN = re.compile(r"arn:[a-z-]+:imagebuilder:[a-z0-9-]+:\d{12}:image/[^/\s]+/\d+\.\d+\.\d+/\d+")
# GetImage answers about the request itself (no such image, not ours to read): a retry cannot help.
REFUSED = {"AccessDeniedException", "ForbiddenException", "ResourceNotFoundException", "InvalidRequestException", "ClientException"}
# Manifests ECR may hold for a single-platform image (ECR user guide, "Image manifest format support").
MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
]
OUTCOMES = ("updated", "tagged", "failed", "ignored", "refused", "malformed")


class Refused(Exception):
    """The record names something that is not an image of this stack's recipe and repository."""


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Process each record of ``event``; returns how many records had each outcome."""
    summary = dict.fromkeys(OUTCOMES, 0)
    for record in event.get("Records") or []:
        summary[_process(record, context)] += 1
    LOGGER.info("Summary: %s", json.dumps(summary))
    return summary


def _process(record: Any, context: Any) -> str:
    try:
        arn = _image_arn(record)
    except (KeyError, TypeError, ValueError) as error:  # JSONDecodeError is a ValueError
        LOGGER.error("Malformed notification, ignored: %s: %s", type(error).__name__, error)
        return "malformed"
    try:
        image = _own_image(arn, context)
        status = (image.get("state") or {}).get("status")
        if status == "FAILED":
            _report_failure(image)
            return "failed"
        if status != "AVAILABLE":
            LOGGER.info("Image %s is %s: nothing to do", arn, status)
            return "ignored"
        digest = _digest(_output_tag(image), context)
    except Refused as refusal:
        LOGGER.warning("Refused %s: %s", arn, refusal)
        return "refused"
    if not _tag_as_running(arn, digest, context):
        return "ignored"
    if "sourcePipelineArn" not in image:
        # Built by the stack's AWS::ImageBuilder::Image (a stack update): the template points the
        # function at it, and a second update now would race CloudFormation's
        # (ResourceConflictException). Tagged only, so that it is kept.
        LOGGER.info("Image %s was built by CloudFormation, which updates the function: tagged only", arn)
        return "tagged"
    return "updated" if _update_function(arn, digest, context) else "ignored"


def _newer_build(arn: str, context: Any) -> str | None:
    """An AVAILABLE build of the same recipe version with a higher build number than ``arn``'s, if any."""
    version_arn, _, build = arn.rpartition("/")
    request: dict[str, Any] = {"imageVersionArn": version_arn, "maxResults": 100}
    while True:
        check_time(context, KEEP_MS)
        page = IMAGEBUILDER.list_image_build_versions(**request)
        for summary in page.get("imageSummaryList") or []:
            other = str(summary.get("arn", ""))
            status = (summary.get("state") or {}).get("status")
            if status == "AVAILABLE" and other.rpartition("/")[0] == version_arn and _build_of(other) > int(build):
                return other
        if not page.get("nextToken"):
            return None
        request["nextToken"] = page["nextToken"]


def _build_of(arn: str) -> int:
    build = arn.rpartition("/")[2]
    return int(build) if build.isdigit() else -1


def _update_function(arn: str, digest: str, context: Any) -> bool:
    """Point the function at ``digest`` unless a newer build becomes available first; whether it was.

    Compare and swap on the function's RevisionId, read before each check: see the module docstring.
    """
    image_uri = f"{os.environ['REPOSITORY_URI']}@{digest}"
    function_name = os.environ["FUNCTION_NAME"]
    backoff_s = INITIAL_BACKOFF_S
    while True:
        check_time(context, KEEP_MS)
        revision = LAMBDA.get_function_configuration(FunctionName=function_name)["RevisionId"]
        newer = _newer_build(arn, context)
        if newer is not None:
            LOGGER.warning("Image %s is not promoted: the newer build %s is available", arn, newer)
            return False
        LOGGER.info("Image %s AVAILABLE: updating %s to %s", arn, function_name, image_uri)
        check_time(context, KEEP_MS)
        try:
            # Publish=False: the API invokes $LATEST (no alias nor version), so publishing would only
            # pile up versions that each pin an image the lifecycle policy may expire.
            response = LAMBDA.update_function_code(
                FunctionName=function_name, ImageUri=image_uri, Publish=False, RevisionId=revision
            )
        except ClientError as error:
            if _code(error) == "PreconditionFailedException":
                LOGGER.info("%s changed since it was read: reading it again", function_name)
                continue
            if _code(error) != "ResourceConflictException":
                raise
            # After the wait: this read, the check and the update again.
            if not can_wait(context, backoff_s, 2 * longest_call_ms() + KEEP_MS):
                raise  # for Lambda to retry later
            LOGGER.info("%s has an update in progress; trying again in %.0f s", function_name, backoff_s)
            SLEEP(backoff_s)
            backoff_s = min(backoff_s * 2, MAX_BACKOFF_S)
            continue
        LOGGER.info("Function %s update %s", function_name, response.get("LastUpdateStatus"))
        return True


def _image_arn(record: Any) -> str:
    """The image ARN the notification names: the only thing read from the message."""
    message = json.loads(record["Sns"]["Message"])
    arn = message.get("arn") if isinstance(message, dict) else None
    if not isinstance(arn, str) or not IMAGE_ARN.fullmatch(arn):
        raise ValueError(f"no Image Builder image ARN in the message (arn: {arn!r:.200})")
    return arn


def _own_image(arn: str, context: Any) -> dict[str, Any]:
    """The image as Image Builder describes it, if this stack's recipe built it for this repository."""
    check_time(context, KEEP_MS)
    try:
        image = IMAGEBUILDER.get_image(imageBuildVersionArn=arn)["image"]
    except ClientError as error:
        if _code(error) in REFUSED:
            raise Refused(f"GetImage: {_code(error)}: {_message(error)}") from error
        raise
    recipe = image.get("containerRecipe") or {}
    if recipe.get("arn") != os.environ["RECIPE_ARN"]:
        raise Refused(f"built from recipe {recipe.get('arn')}, not this stack's")
    infrastructure = (image.get("infrastructureConfiguration") or {}).get("arn")
    if infrastructure != os.environ["INFRASTRUCTURE_ARN"]:
        raise Refused(f"built with infrastructure configuration {infrastructure}, not this stack's")
    # Only present for images a pipeline execution created (Image Builder API reference, Image).
    pipeline = image.get("sourcePipelineArn")
    if pipeline is not None and pipeline != os.environ["PIPELINE_ARN"]:
        raise Refused(f"built by pipeline {pipeline}, not this stack's")
    target = recipe.get("targetRepository") or {}
    if (target.get("service"), target.get("repositoryName")) != ("ECR", os.environ["REPOSITORY_NAME"]):
        raise Refused(f"targets repository {target.get('repositoryName')}, not this stack's")
    return dict(image)


def _report_failure(image: dict[str, Any]) -> None:
    """Log why a build of this stack's recipe failed, and where its build log is."""
    reason = (image.get("state") or {}).get("reason") or "no reason given"
    # The image's own logging configuration when it has one, else Image Builder's default group.
    log_group = (image.get("loggingConfiguration") or {}).get("logGroupName") or f"/aws/imagebuilder/{image.get('name')}"
    LOGGER.warning(
        "Image build %s FAILED: %s. Build log: CloudWatch Logs group %s, stream %s. "
        "The function keeps its current image.",
        image.get("arn"),
        reason,
        log_group,
        image.get("version"),
    )


def _output_tag(image: dict[str, Any]) -> str:
    """The tag of the image's output in this stack's repository, in this Region."""
    prefix = os.environ["REPOSITORY_URI"] + ":"
    region = os.environ["AWS_REGION"]  # set by the Lambda runtime
    for container in (image.get("outputResources") or {}).get("containers") or []:
        if container.get("region") != region:
            continue
        for uri in container.get("imageUris") or []:
            if uri.startswith(prefix) and "@" not in uri:
                return str(uri[len(prefix):])
    raise Refused(f"no output image in {prefix[:-1]} in {region}")


def _digest(tag: str, context: Any) -> str:
    """The digest of the repository's image with ``tag``."""
    check_time(context, KEEP_MS)
    try:
        (details,) = ECR.describe_images(repositoryName=os.environ["REPOSITORY_NAME"], imageIds=[{"imageTag": tag}])[
            "imageDetails"
        ]
    except ClientError as error:
        if _code(error) == "ImageNotFoundException":
            raise Refused(f"tag {tag} is not in repository {os.environ['REPOSITORY_NAME']}") from error
        raise
    return str(details["imageDigest"])


def _tag_as_running(arn: str, digest: str, context: Any) -> bool:
    """Move ``RUNNING_TAG`` to ``digest`` (the same manifest put again under that tag), unless a newer
    build of the recipe is available right before; whether it was moved."""
    repository, tag = os.environ["REPOSITORY_NAME"], os.environ["RUNNING_TAG"]
    check_time(context, KEEP_MS)
    images = ECR.batch_get_image(
        repositoryName=repository, imageIds=[{"imageDigest": digest}], acceptedMediaTypes=MANIFEST_TYPES
    )["images"]
    if not images:
        raise RuntimeError(f"BatchGetImage returned no manifest for {digest} in {repository}")
    manifest = images[0]
    newer = _newer_build(arn, context)
    if newer is not None:
        LOGGER.warning("Image %s (%s) is not promoted: the newer build %s is available", arn, digest, newer)
        return False
    check_time(context, KEEP_MS)
    try:
        ECR.put_image(
            repositoryName=repository,
            imageManifest=manifest["imageManifest"],
            imageManifestMediaType=manifest["imageManifestMediaType"],
            imageTag=tag,
            imageDigest=digest,
        )
    except ClientError as error:
        if _code(error) != "ImageAlreadyExistsException":  # the tag is already on this image
            raise
    LOGGER.info("Tag %s now on %s", tag, digest)
    return True


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))
