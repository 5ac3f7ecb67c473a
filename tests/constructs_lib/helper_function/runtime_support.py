"""Helpers for the tests of the helper functions' runtime code (``constructs_lib/*/runtime``).

Not a conftest.py: test modules of several directories import what they use.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import pytest

from constructs_lib.helper_function import inline_source

CONSTRUCTS_LIB = Path(__file__).resolve().parents[3] / "constructs_lib"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/ParallelClusterApi/8131d980-7fb5-11ee-9589-0a64249"


def load_runtime(component: str, name: str) -> ModuleType:
    """Import ``constructs_lib/<component>/runtime/<name>.py`` as Lambda runs it: the inline code the template holds
    (shared runtime code spliced in, see ``inline_source``), as a top-level module.

    Its boto3 clients are created at import; a region and fake credentials are set only for that
    time, and the tests stub every call (botocore's Stubber answers before anything is signed
    or sent).
    """
    fake_env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }
    source = inline_source(CONSTRUCTS_LIB / component / "runtime" / f"{name}.py")
    module = ModuleType(name)
    module.__file__ = f"<inline code of {name}>"
    with mock.patch.dict("os.environ", fake_env):
        exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - our own code
    return module


def custom_resource_request(
    request_type: str,
    url: str,
    *,
    service_token: str,
    resource_type: str,
    logical_id: str,
    request_id: str,
    properties: dict[str, Any],
    physical_id: str,
) -> dict[str, Any]:
    """A CloudFormation custom resource request as the Lambda function receives it (``properties``
    without the ``ServiceToken``, which CloudFormation adds; ``physical_id`` for Update and Delete)."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": url,
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": {"ServiceToken": service_token, **properties},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = physical_id
    return event


def custom_resource_response(
    status: str, reason: str, *, physical_id: str, logical_id: str, request_id: str, data: dict[str, str] | None = None
) -> dict[str, Any]:
    """The body a helper must PUT to the response URL for a request of :func:`custom_resource_request`."""
    return {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
        "NoEcho": False,
        "Data": data or {},
    }


def page(
    request: dict[str, Any], response: dict[str, Any], token: str = "", next_token: str = ""
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request and response of one page of a list operation whose token is ``nextToken`` (for the Stubber)."""
    return ({**request, "nextToken": token} if token else request), (
        {**response, "nextToken": next_token} if next_token else response
    )


class FakeContext:
    """A Lambda context whose remaining time follows ``remaining_ms``, one value a call (the last repeats)."""

    def __init__(self, *remaining_ms: int) -> None:
        self._remaining = list(remaining_ms or [300_000])

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining.pop(0) if len(self._remaining) > 1 else self._remaining[0]


class ClockContext:
    """A Lambda context on a simulated clock that only ``sleep`` advances (API calls take no time)."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms
        self.sleeps: list[float] = []

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.remaining_ms -= int(seconds * 1000)


class RealClockContext:
    """A Lambda context whose remaining time runs with the real clock."""

    def __init__(self, remaining_ms: int) -> None:
        self.deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


class ResponseRecorder:
    """What the local stand-in for the pre-signed S3 URL received."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.requests: list[dict[str, Any]] = []
        self.status = 200

    @property
    def only(self) -> dict[str, Any]:
        (request,) = self.requests
        return request

    def body(self) -> dict[str, Any]:
        return json.loads(self.only["body"])


@pytest.fixture
def response_url() -> Iterator[ResponseRecorder]:
    """A real HTTP server on 127.0.0.1 standing for CloudFormation's pre-signed S3 URL."""
    recorder: ResponseRecorder | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", 0))
            assert recorder is not None
            recorder.requests.append(
                {
                    "method": "PUT",
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": self.rfile.read(length).decode(),
                    "at": time.monotonic(),
                }
            )
            self.send_response(recorder.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval makes shutdown() quick (it waits for the loop to notice).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    # Shaped like CloudFormation's pre-signed URL: the query string must reach the server intact.
    recorder = ResponseRecorder(
        f"http://{host}:{port}/arn%3Aaws%3Acloudformation%3Aeu-west-1%3A{ACCOUNT}%3Astack/ParallelClusterApi/"
        "8131d980/Cleanup?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-Signature=abc123"
    )
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class SilentEndpoint:
    """A local endpoint that accepts every connection and never answers: a hung AWS endpoint."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.02)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            self.connections.append(connection)  # held open, never read from nor written to

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in [*self.connections, self._server]:
            connection.close()


@pytest.fixture
def silent_endpoint() -> Iterator[SilentEndpoint]:
    endpoint = SilentEndpoint()
    try:
        yield endpoint
    finally:
        endpoint.close()


# Time budgets scaled down for tests that really wait on a silent endpoint: each attempt of a call
# gives up after the read timeout, as it would after ten seconds in AWS.
FAST_CALLS = {"CONNECT_TIMEOUT_S": 0.2, "READ_TIMEOUT_S": 0.2, "RETRY_WAIT_S": 0.1}


def hang(module: ModuleType, monkeypatch: pytest.MonkeyPatch, endpoint: SilentEndpoint, **clients: str) -> None:
    """Point the helper's clients (attribute name: service) at ``endpoint``, with ``FAST_CALLS`` timeouts."""
    import boto3

    for name, value in FAST_CALLS.items():
        monkeypatch.setattr(module, name, value)
    for attribute, service in clients.items():
        client = boto3.client(
            service, region_name=REGION, endpoint_url=endpoint.url, config=module.client_config(),
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )
        monkeypatch.setattr(module, attribute, client)
