"""Merging pages: the answer of a list operation over all its pages."""

from __future__ import annotations

import json
from typing import Any

from pcluster_api_client.pages import Query, get_pages, merge


def test_lists_are_concatenated_the_token_is_the_last_pages_the_rest_the_first_pages() -> None:
    merged: dict[str, Any] = {"events": [1], "prevToken": "b0", "nextToken": "f1"}

    merge(merged, {"events": [2, 3], "prevToken": "b1", "nextToken": "f2"})
    assert merged == {"events": [1, 2, 3], "prevToken": "b0", "nextToken": "f2"}

    merge(merged, {"events": [], "prevToken": "b2", "extra": [4]})
    assert merged == {"events": [1, 2, 3], "prevToken": "b0", "extra": [4]}


def test_an_error_page_is_returned_as_it_is() -> None:
    answers = iter([(200, {"items": [1], "nextToken": "t"}), (500, {"message": "boom"})])
    sent: list[Query] = []

    def send(query: Query) -> tuple[int, bytes]:
        sent.append(query)
        status, document = next(answers)
        return status, json.dumps(document).encode()

    answer = get_pages(send, [("region", "eu-west-1")], max_pages=10)

    assert (answer.status, answer.document, answer.pages, answer.truncated) == (500, {"message": "boom"}, 2, False)
    assert sent == [[("region", "eu-west-1")], [("region", "eu-west-1"), ("nextToken", "t")]]
