"""SigV4-signed HTTPS requests to the API, with bounded time and size, and no redirects.

* Time: connecting (TCP, a proxy's tunnel, TLS) must finish within the connect timeout, and
  the whole request, answer included, within the connect timeout plus the read timeout; no
  single wait for the answer lasts longer than the read timeout.
* Size: an answer over :data:`MAX_ANSWER_BYTES` is refused (a declared ``Content-Length``
  before reading anything).
* Redirects are never followed: they would forward the signed headers to another URL; a 3xx
  answer is returned like any other status.

Proxies come from the environment (``HTTPS_PROXY``, ``NO_PROXY``), as for any urllib client;
certificates are checked against the system's trust store.
"""

from __future__ import annotations

import functools
import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from typing import Any, cast

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.credentials import ReadOnlyCredentials

from pcluster_api_client.errors import EXIT_API_ERROR, EXIT_UNREACHABLE, CliError

SERVICE = "execute-api"
#: Largest answer accepted, in bytes: 10 MiB, at least API Gateway's REST API payload quota
#: (10 MB), which the API's Lambda function (6 MB synchronous response) stays below.
MAX_ANSWER_BYTES = 10 * 1024 * 1024
_CHUNK_BYTES = 64 * 1024


def sign_request(
    credentials: ReadOnlyCredentials, region: str, method: str, url: str, body: bytes | None
) -> AWSPreparedRequest:
    """The request SigV4-signed for ``execute-api`` in ``region``."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    return request.prepare()


class _Response(http.client.HTTPResponse):
    """An answer that keeps its socket, so that each read can wait only for the time left."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self.socket = sock


class _TimedConnection:
    """A connection whose ``timeout`` bounds connecting (a proxy's tunnel and TLS included), and
    ``read_timeout`` each wait for the answer afterwards."""

    response_class: type[http.client.HTTPResponse] = _Response

    def __init__(self, *args: Any, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self.sock.settimeout(self.read_timeout)  # type: ignore[attr-defined]


class _HTTPConnection(_TimedConnection, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_TimedConnection, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_HTTPConnection, read_timeout=self.read_timeout)
        return self.do_open(connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout
        self.tls = ssl.create_default_context()

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_HTTPSConnection, read_timeout=self.read_timeout)
        return self.do_open(connection, req, context=self.tls)


class Transport:
    """Sends signed requests; one per command, shared by the pages of an answer."""

    def __init__(self, *, connect_timeout: float, read_timeout: float) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        # Only these handlers: no redirect handler (3xx answers come back as they are) and no
        # error processor (every status comes back as an answer, not as an exception).
        self._opener = urllib.request.OpenerDirector()
        for handler in (urllib.request.ProxyHandler(), _HTTPHandler(read_timeout), _HTTPSHandler(read_timeout)):
            self._opener.add_handler(handler)

    def send(self, request: AWSPreparedRequest) -> tuple[int, bytes]:
        """Send ``request``; return (status, body). Raises CliError when unreachable, late or too large."""
        deadline = time.monotonic() + self.connect_timeout + self.read_timeout
        outgoing = urllib.request.Request(
            request.url,
            data=cast("bytes | None", request.body),
            headers=dict(request.headers.items()),
            method=request.method,
        )
        try:
            with self._opener.open(outgoing, timeout=self.connect_timeout) as response:
                return response.status, self._read(response, deadline, request.url)
        except TimeoutError as err:
            raise CliError(f"cannot reach {request.url}: timed out", EXIT_UNREACHABLE) from err
        except (OSError, http.client.HTTPException) as err:
            reason = err.reason if isinstance(err, urllib.error.URLError) else err
            raise CliError(f"cannot reach {request.url}: {reason}", EXIT_UNREACHABLE) from err

    def _read(self, response: _Response, deadline: float, url: str) -> bytes:
        too_large = CliError(f"the answer of {url} is larger than {MAX_ANSWER_BYTES} bytes", EXIT_API_ERROR)
        declared = response.getheader("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError()
            # read1 makes at most one read from the socket, so it waits at most ``left``.
            response.socket.settimeout(min(left, self.read_timeout))
            chunk = response.read1(_CHUNK_BYTES)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise too_large
            chunks.append(chunk)
