"""The reply of a CloudFormation custom resource: one JSON document PUT to the pre-signed ``ResponseURL``.

Shared by every custom resource handler of this project. A handler imports it with
``from cfn_response import ...``; :func:`constructs_lib.helper_function.inline_source` splices this
module into each handler's inline code, so the deployed function is one self-contained file.

Response fields and limits: CloudFormation's custom resource response objects documentation
(``Status``, ``Reason``, ``PhysicalResourceId``, ``StackId``, ``RequestId``, ``LogicalResourceId``,
``NoEcho``, ``Data``; the whole body at most 4096 bytes).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

SUCCESS, FAILED = "SUCCESS", "FAILED"
# CloudFormation rejects a response body over 4096 bytes; the other fields stay far below the rest.
MAX_REASON = 1500

_REPLY_LOGGER = logging.getLogger("cfn_response")
_REPLY_LOGGER.setLevel(logging.INFO)


def send_response(
    event: dict[str, Any],
    status: str,
    reason: str,
    physical_id: str,
    data: dict[str, str] | None = None,
) -> dict[str, Any]:
    """PUT the response for ``event`` and return its body.

    The pre-signed URL is signed without a Content-Type, so the request sends an empty one. If
    the PUT fails this raises, so that Lambda's retries of the asynchronous invocation (the
    handlers are idempotent) send the response again.
    """
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 15] + "... (truncated)"
    body = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "NoEcho": False,
        "Data": data or {},
    }
    _REPLY_LOGGER.info("Responding %s for %s: %s", status, physical_id, reason)
    payload = json.dumps(body).encode()  # ASCII (ensure_ascii), so len() counts bytes
    request = urllib.request.Request(event["ResponseURL"], data=payload, method="PUT", headers={"Content-Type": ""})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - https URL from CloudFormation
            _REPLY_LOGGER.info("Response accepted: HTTP %s", response.status)
    except Exception:
        _REPLY_LOGGER.exception("Could not send the response; raising so that Lambda retries the request")
        raise
    return body
