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
# CloudFormation refuses a response body over 4096 bytes, and every retry of the request would then
# fail the same way (a Delete would stay DELETE_FAILED). The bytes are measured once encoded:
# json.dumps writes a character outside ASCII as \uXXXX, 6 bytes (12 outside the Basic Multilingual
# Plane), so no count of characters bounds them.
MAX_BODY_BYTES = 4096
TRUNCATED = "... (truncated)"
# urlopen's timeout bounds the connection, then each read of the answer: the reply takes at most
# twice as long, which a helper keeps in hand after its last AWS call.
REPLY_TIMEOUT_S = 10
REPLY_MS = 2 * REPLY_TIMEOUT_S * 1000

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

    The body fits ``MAX_BODY_BYTES``: the Reason is shortened to the longest beginning that fits
    (the whole Reason is logged). The pre-signed URL is signed without a Content-Type, so the
    request sends an empty one. If the PUT fails this raises, so that Lambda's retries of the
    asynchronous invocation (the handlers are idempotent) send the response again.
    """
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
    payload = _fitted(body)
    if len(payload) > MAX_BODY_BYTES:
        # Too large even with the Reason cut short: only a programming error makes Data this large,
        # and CloudFormation must still get a reply. A Create or Update without its Data would fail
        # later (Fn::GetAtt), less clearly: it fails now.
        size = len(_encoded(body["Data"]))
        _REPLY_LOGGER.error("Data of %d bytes does not fit the reply: dropped", size)
        if event.get("RequestType") != "Delete":
            body["Status"] = FAILED
        body["Reason"] = f"The reply's Data ({size} bytes) does not fit CloudFormation's {MAX_BODY_BYTES} bytes: dropped; {reason}"
        body["Data"] = {}
        payload = _fitted(body)
    request = urllib.request.Request(event["ResponseURL"], data=payload, method="PUT", headers={"Content-Type": ""})
    try:
        with urllib.request.urlopen(request, timeout=REPLY_TIMEOUT_S) as response:  # noqa: S310 - https URL from CloudFormation
            _REPLY_LOGGER.info("Response accepted: HTTP %s", response.status)
    except Exception:
        _REPLY_LOGGER.exception("Could not send the response; raising so that Lambda retries the request")
        raise
    return body


def _encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


def _fitted(body: dict[str, Any]) -> bytes:
    """``body`` encoded, its Reason first cut to the longest beginning that fits ``MAX_BODY_BYTES``.

    The encoded size grows with the length of the beginning kept, so a binary search finds it. A
    body too large even for the marker alone (only its Data can make it so: CloudFormation's own
    fields are far smaller) keeps the marker alone, and the caller sees that it does not fit.
    """
    payload = _encoded(body)
    if len(payload) <= MAX_BODY_BYTES:
        return payload
    reason = str(body["Reason"])

    def cut(kept: int) -> bytes:
        return _encoded({**body, "Reason": reason[:kept] + TRUNCATED})

    shortest, longest = 0, len(reason)
    while shortest < longest:
        middle = (shortest + longest + 1) // 2
        if len(cut(middle)) <= MAX_BODY_BYTES:
            shortest = middle
        else:
            longest = middle - 1
    body["Reason"] = reason[:shortest] + TRUNCATED
    return cut(shortest)
