"""Signing and sending, against the local API that checks SigV4 signatures as API Gateway does."""

from __future__ import annotations

import json

import pytest
from botocore.credentials import ReadOnlyCredentials

from pcluster_api_client.operations import request_target
from pcluster_api_client.transport import Transport, sign_request
from tests.pcluster_api_client.support import CALLER_KEY, CALLER_SECRET, REGION, FakeApi


@pytest.mark.parametrize(
    ("secret", "tamper", "status", "message"),
    [
        (CALLER_SECRET, None, 200, None),
        ("not-the-secret", None, 403, "signature mismatch"),
        (CALLER_SECRET, "query", 403, "signature mismatch"),
        (CALLER_SECRET, "body", 403, "signature mismatch"),
        (CALLER_SECRET, "unsigned", 403, "Missing Authentication Token"),
        (CALLER_SECRET, "form-encoded-query", 403, "signature mismatch"),
    ],
    ids=["control", "wrong-secret", "tampered-query", "tampered-body", "unsigned", "form-encoded-query"],
)
def test_the_server_really_checks_signatures(
    api: FakeApi, secret: str, tamper: str | None, status: int, message: str | None
) -> None:
    credentials = ReadOnlyCredentials(CALLER_KEY, secret, None)
    url = api.url + request_target("/v3/clusters", [("region", REGION)])
    if tamper == "form-encoded-query":
        # "+" for a space is form encoding, not SigV4's: the server decodes it to " " and
        # re-encodes "%20", so a client that encoded queries this way would be refused.
        url += "&nextToken=a+b"
    request = sign_request(credentials, REGION, "POST", url, b'{"a": 1}')
    if tamper == "query":
        request.url = request.url.replace(REGION, "us-east-1")
    elif tamper == "body":
        request.body = b'{"a": 2}'
    elif tamper == "unsigned":
        del request.headers["Authorization"]

    answer_status, payload = Transport(connect_timeout=5, read_timeout=5).send(request)

    assert answer_status == status
    assert message is None or json.loads(payload) == {"message": message}


def test_one_transport_sends_every_page(api: FakeApi) -> None:
    """The pages of an answer share one transport: each request is sent and answered on its own."""
    transport = Transport(connect_timeout=5, read_timeout=5)
    credentials = ReadOnlyCredentials(CALLER_KEY, CALLER_SECRET, None)

    statuses = [
        transport.send(sign_request(credentials, REGION, "GET", f"{api.url}/v3/clusters?page={page}", None))[0]
        for page in range(3)
    ]

    assert statuses == [200, 200, 200] and len(api.seen) == 3
