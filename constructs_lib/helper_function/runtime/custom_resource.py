"""The skeleton of every CloudFormation custom resource of this project: one request in, one reply out.

Shared by every custom resource handler (spliced into its inline code like ``cfn_response``). Raw
custom resource protocol: the ``ServiceToken`` is the function's ARN, CloudFormation invokes it
asynchronously and waits for the JSON reply PUT to the pre-signed S3 ``ResponseURL``. A handler
says what its resource does and hands each request to :func:`serve`, which holds what every one
of them relies on:

* One reply, whatever happens: it is sent from a ``finally``, so an exception still answers
  CloudFormation (a custom resource that never answers keeps the stack waiting until its service
  timeout). If the PUT itself fails, ``send_response`` raises, so that Lambda's asynchronous retries
  (the handlers are idempotent) send the reply again.
* A Delete never fails: ``delete`` returns only the Reason, and an exception becomes the Reason of
  a SUCCESS. A FAILED Delete would stop the stack's deletion, or the rollback of a failed
  creation, in DELETE_FAILED.
* A stable physical id. A Create replies with ``identify``'s id (from its checked properties) as
  soon as ``identify`` returns, so even when the work that follows fails; before, or without
  ``identify``, with ``default_id``. An Update replies with ``identify``'s id too, or echoes the id
  CloudFormation sent; a Delete always echoes it. An Update that replies with another id is a
  replacement: CloudFormation then sends a Delete for the old id in its cleanup phase, so
  ``identify`` depends only on what the resource is.
* A Create or Update that raises fails with ``<RequestType> failed: <exception>``; one whose work
  finds a problem it can explain returns an :class:`Outcome` with ``status=FAILED`` and its reason.
  Any other RequestType fails.

The reply fits CloudFormation's 4,096 bytes (``cfn_response``), and ``REPLY_MS`` is the time a
handler keeps for it after its last AWS call (``time_budget``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from cfn_response import FAILED, SUCCESS, send_response

# The handler's own logger (the same name), so that a failed request is logged beside its work.
_REQUEST_LOGGER = logging.getLogger(__name__)
_REQUEST_LOGGER.setLevel(logging.INFO)


class Request(NamedTuple):
    """One custom resource request, as a handler's functions see it."""

    request_type: str  # Create, Update or Delete
    properties: dict[str, Any]  # ResourceProperties, with the ServiceToken
    old_properties: dict[str, Any]  # an Update's OldResourceProperties; {} for Create and Delete
    physical_id: str  # the id CloudFormation sent (Update, Delete), else the default id
    context: Any  # the Lambda context: the time left


class Outcome(NamedTuple):
    """What a Create or Update did: the reply's Reason, its Data, and whether it succeeded."""

    reason: str
    data: dict[str, str] | None = None
    status: str = SUCCESS


def serve(
    event: dict[str, Any],
    context: Any,
    *,
    create_or_update: Callable[[Request], Outcome],
    delete: Callable[[Request], str],
    default_id: str,
    identify: Callable[[Request], str] | None = None,
    left_by_a_failed_delete: str = "",
) -> dict[str, Any]:
    """Dispatch one request to the resource's functions and PUT the reply; returns the reply's body.

    :param create_or_update: Create and Update: does the work; returns the outcome.
    :param delete: Delete: does the work; returns the Reason of a SUCCESS.
    :param default_id: The physical id of a Create that fails before ``identify`` returns, or
        that has no ``identify``.
    :param identify: Create and Update: checks the properties and returns the resource's id.
    :param left_by_a_failed_delete: What a Delete that raised may have left, added to its Reason.
    """
    request_type = event.get("RequestType")
    request = Request(
        str(request_type),
        event.get("ResourceProperties") or {},
        (event.get("OldResourceProperties") or {}) if request_type == "Update" else {},
        event.get("PhysicalResourceId") or default_id,
        context,
    )
    physical_id, status, reason, data = request.physical_id, FAILED, "No outcome", None
    try:
        if request_type == "Delete":
            status, reason = SUCCESS, delete(request)
        elif request_type in ("Create", "Update"):
            if identify is not None:
                physical_id = identify(request)
            reason, data, status = create_or_update(request)
        else:
            raise ValueError(f"Unknown RequestType {request_type!r}")
    except Exception as error:  # noqa: BLE001 - reported to CloudFormation below
        _REQUEST_LOGGER.exception("%s request failed", request_type)
        reason, data = f"{request_type} failed: {type(error).__name__}: {error}", None
        if request_type == "Delete":
            # Never block the deletion of the stack (or the rollback of a failed creation).
            status = SUCCESS
            if left_by_a_failed_delete:
                reason += f"; {left_by_a_failed_delete}"
        else:
            status = FAILED
    finally:
        body = send_response(event, status, reason, physical_id, data)
    return body
