"""Following ``nextToken``: the pages of a list answer, merged into one answer.

The ParallelCluster API's list operations (list-clusters, list-images, describe-cluster-instances,
the log streams, log events and stack events of clusters and images) are GET requests that take a
``nextToken`` query parameter and answer a JSON object with one list and, while more remains, a
``nextToken``. A page may be empty and still carry a token (list-clusters reads CloudFormation
stacks page by page and keeps only clusters' stacks), so one page is not the whole answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

NEXT_TOKEN = "nextToken"
DEFAULT_MAX_PAGES = 100

Query = Sequence[tuple[str, str]]


@dataclass
class Answer:
    """The answer to a request: of its last page for the status and body, merged for the document."""

    status: int
    #: Body of the last page received.
    payload: bytes
    #: The JSON document: the pages merged, or the last page's when it is not a 2xx JSON object.
    document: Any
    #: Pages received.
    pages: int
    #: True when the page bound stopped the pages with a ``nextToken`` left (kept in the document).
    truncated: bool = False


def parse_json(payload: bytes) -> Any:
    """The JSON document in ``payload``, or None."""
    try:
        return json.loads(payload)
    except ValueError:
        return None


def merge(merged: dict[str, Any], page: dict[str, Any]) -> None:
    """Add ``page`` to ``merged``: lists are concatenated, ``nextToken`` is the page's, the rest stays the first page's.

    Log events answers also carry ``prevToken``, which belongs to the first page (it reads
    backwards from there).
    """
    for key, value in page.items():
        if isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key].extend(value)
        elif key == NEXT_TOKEN or key not in merged:
            merged[key] = value
    if NEXT_TOKEN not in page:
        merged.pop(NEXT_TOKEN, None)


def with_token(query: Query, token: str) -> list[tuple[str, str]]:
    """``query`` with ``nextToken`` set to ``token``."""
    return [(key, value) for key, value in query if key != NEXT_TOKEN] + [(NEXT_TOKEN, token)]


def get_pages(send: Callable[[Query], tuple[int, bytes]], query: Query, *, max_pages: int) -> Answer:
    """Send ``query``, then the ``nextToken`` of each answer, and merge the pages.

    ``send`` sends the request with a given query and returns (status, body). The pages stop at
    an answer without ``nextToken``, at a token equal to the one just sent (CloudWatch Logs
    returns the token it was given at the end of a log stream, which the log events operations
    pass on), at an answer that is not a 2xx JSON object (returned as it is), or after
    ``max_pages`` pages.
    """
    sent = dict(query).get(NEXT_TOKEN)
    merged: dict[str, Any] | None = None
    for page in range(1, max_pages + 1):
        status, payload = send(query)
        document = parse_json(payload)
        if not 200 <= status < 300 or not isinstance(document, dict):
            return Answer(status, payload, document, page)
        if merged is None:
            merged = document
        else:
            merge(merged, document)
        token = document.get(NEXT_TOKEN)
        if not isinstance(token, str) or not token or token == sent:
            return Answer(status, payload, merged, page)
        query, sent = with_token(query, token), token
    return Answer(status, payload, merged, max_pages, truncated=True)
