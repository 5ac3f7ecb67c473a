"""``--wait``: follow an operation to its end by polling the API's describe operation.

As ``aws cloudformation wait`` does with DescribeStacks, the describe request goes out at once,
then every ``interval`` seconds, until the state the answer reports is no longer the operation's
running state, or until ``timeout``. ParallelCluster reports the state of the cluster or image
stack (``clusterStatus``, ``imageBuildStatus``: a stack rolling back after a failed creation is
already ``CREATE_FAILED``). A deletion ends when the describe answer is 404: the stack is gone.

Answers that say nothing of the operation (throttling, 5xx from API Gateway or the function, an
unreachable endpoint) do not end the wait: the next poll asks again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jmespath

from pcluster_api_client.errors import (
    EXIT_API_ERROR,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_WAIT_TIMEOUT,
    CliError,
    api_message,
    one_line,
)
from pcluster_api_client.operations import Wait
from pcluster_api_client.pages import parse_json

#: Statuses that say the request was not served this time: API Gateway's throttling (429) and
#: integration or function errors (500, 502, 503, 504).
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class Outcome:
    """How the wait ended: the exit code, the document to print, and the error line (None on success)."""

    exit_code: int
    document: Any
    error: str | None = None


def _reasons(wait: Wait, document: Any) -> str:
    found = jmespath.search(wait.reasons, document) or []
    return one_line("; ".join(reason for reason in found if isinstance(reason, str) and reason))


def _elapsed(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def wait_for(
    describe: Callable[[], tuple[int, bytes]],
    wait: Wait,
    subject: str,
    *,
    timeout: float,
    interval: float,
    progress: Callable[[str], None],
) -> Outcome:
    """Poll ``describe`` (the signed describe request) until the operation on ``subject`` (a name or id) ends.

    ``progress`` receives a line for each answer. Raises CliError for an answer that ends the wait
    without telling the state (an API error other than the transient ones).
    """
    label = f"{wait.noun} {subject!r}"
    start = time.monotonic()
    deadline = start + timeout
    last: Any = None
    note = ""
    while True:
        try:
            status, payload = describe()
        except CliError as err:
            if err.exit_code != EXIT_UNREACHABLE:
                raise
            status, payload, note = 0, b"", f"{err}; asking again"
        document = parse_json(payload)
        if status == 200 and isinstance(document, dict):
            last = document
            state = document.get(wait.state_field)
            if state in wait.succeeded:
                return Outcome(EXIT_OK, document)
            if state not in wait.running:
                reasons = _reasons(wait, document)
                return Outcome(EXIT_API_ERROR, document, f"{label}: {state}" + (f": {reasons}" if reasons else ""))
            note = str(state)
        elif status == 404 and wait.gone_is_success:
            return Outcome(EXIT_OK, {"message": f"{wait.noun.capitalize()} {subject!r} was deleted."})
        elif status == 404:
            return Outcome(EXIT_API_ERROR, document, f"{label}: HTTP 404: {api_message(document, payload)}")
        elif status in TRANSIENT_STATUSES:
            note = f"HTTP {status}; asking again"
        elif status:
            raise CliError(f"{label}: describing it: HTTP {status}: {api_message(document, payload)}", EXIT_API_ERROR)
        now = time.monotonic()
        progress(f"{label}: {note} ({_elapsed(now - start)})")
        if now >= deadline:
            return Outcome(EXIT_WAIT_TIMEOUT, last, f"{label}: not done after --timeout {timeout:g} s: {note}")
        time.sleep(min(interval, deadline - now))
