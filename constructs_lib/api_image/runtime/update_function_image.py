"""Point the API function at each container image the Image Builder pipeline makes available.

Subscribed to the SNS topic of the pipeline's infrastructure configuration. Image Builder
publishes to that topic when an image reaches ``AVAILABLE`` or ``FAILED``; the message is the
JSON of the image, the ``Image`` shape of ``GetImage`` (``arn``, ``state.status``,
``outputResources.containers[].region`` / ``imageUris[]``...).

Environment: ``FUNCTION_NAME``, the function to update (name or ARN).

SNS invokes Lambda asynchronously, and Lambda retries a failed asynchronous invocation twice.
So a message that can never be processed is logged and dropped (a retry would fail the same
way), while an error of the Lambda API propagates: a retry may succeed (for example after a
``ResourceConflictException`` while a previous update is still in progress), and a final
failure goes to the function's dead-letter queue or failure destination.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Optional

import boto3
from botocore.config import Config

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

# Created once per execution environment (reused across invocations); tests replace or stub it.
# Short timeouts keep one call (retry included) inside the function's 30 s timeout.
LAMBDA = boto3.client(
    "lambda",
    config=Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 2}),
)


class MalformedMessage(ValueError):
    """The SNS message is not an Image Builder image this function can act on."""


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Update ``FUNCTION_NAME`` to the image of each ``AVAILABLE`` notification in ``event``.

    Returns how many records updated the function, were ignored (another status) or were
    malformed.
    """
    function_name = os.environ["FUNCTION_NAME"]
    summary = {"updated": 0, "ignored": 0, "malformed": 0}
    for record in event.get("Records") or []:
        summary[_process(record, function_name)] += 1
    LOGGER.info("Summary: %s", json.dumps(summary))
    return summary


def _process(record: dict[str, Any], function_name: str) -> str:
    image: Any = None
    try:
        image = json.loads(record["Sns"]["Message"])
        if not isinstance(image, dict):
            raise MalformedMessage("the message is not a JSON object")
        status = _dig(image, "state", "status")
        if not isinstance(status, str):
            raise MalformedMessage("no state.status")
        if status != "AVAILABLE":
            # FAILED (the other documented notification) deserves attention; anything else is noise.
            level = logging.WARNING if status == "FAILED" else logging.INFO
            reason = _dig(image, "state", "reason")
            LOGGER.log(level, "Image %s is %s (%s): function not updated", image.get("arn"), status, reason)
            return "ignored"
        image_uri = _container_image_uri(image)
    except (KeyError, TypeError, ValueError) as error:  # JSONDecodeError, MalformedMessage: ValueErrors
        arn = image.get("arn") if isinstance(image, dict) else None
        LOGGER.error("Malformed Image Builder message for image %s: %s: %s", arn, type(error).__name__, error)
        return "malformed"

    LOGGER.info("Image %s AVAILABLE: updating function %s to %s", image.get("arn"), function_name, image_uri)
    # Publish=False: the API invokes $LATEST (no alias nor version), so publishing would only pile up
    # versions that each pin an ECR image (and break once a lifecycle rule expires that image).
    response = LAMBDA.update_function_code(FunctionName=function_name, ImageUri=image_uri, Publish=False)
    LOGGER.info("Function %s update %s", function_name, response.get("LastUpdateStatus"))
    return "updated"


def _container_image_uri(image: dict[str, Any]) -> str:
    """The first image URI of the container in this function's region, else of the first container.

    Lambda can only run an image from an ECR repository in its own region.
    """
    containers = _dig(image, "outputResources", "containers")
    if not isinstance(containers, list) or not containers:
        raise MalformedMessage("no outputResources.containers")
    region = os.environ.get("AWS_REGION")  # set by the Lambda runtime
    containers = [container for container in containers if isinstance(container, dict)]
    for container in sorted(containers, key=lambda container: container.get("region") != region):
        uris = container.get("imageUris")
        if isinstance(uris, list) and uris and isinstance(uris[0], str) and uris[0]:
            return uris[0]
    raise MalformedMessage("no container image URI in outputResources.containers[].imageUris")


def _dig(value: Any, *keys: str) -> Optional[Any]:
    """``value[k1][k2]...``, or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
