"""A local API that checks SigV4 signatures, and moto stacks, for the tests of ``pcluster-api``.

The API is a local HTTP server that checks every request the way API Gateway's AWS_IAM
authorization does: it recomputes the SigV4 signature from what it received (method, path,
decoded and re-encoded query, the signed headers, body) with the secret of the access key in
the Authorization header, and answers 403 when the signatures differ. Correctly signed
requests get the answer a test scripted (``FakeApi.script``), else the answer of their path (see
:func:`_reply`); handler_front.py serves the real handler's answers through the same server.
"""

from __future__ import annotations

import datetime
import hmac
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import boto3
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from botocore.loaders import create_loader
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sts.models import sts_backends

from pcluster_api_client import cli, outputs
from pcluster_api_client.transport import MAX_ANSWER_BYTES

REGION = "eu-west-1"
STACK = "ParallelClusterApi"
STAGE = "/prod"
# moto replaces the caller's credentials with these while it is active.
CALLER_KEY, CALLER_SECRET = "FOOBARKEY", "FOOBARSECRET"
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)
ROLE_RESOURCE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    },
}
FAKE_INVOKE_URL = f"https://abc123.execute-api.{REGION}.amazonaws.com{STAGE}"
# Parsing botocore's JSON models (endpoints, services) is most of a session's cost: share it.
LOADER = create_loader()

# Paged answers to GET requests by path and nextToken (None: the first page), shaped like the API's.
PAGES: dict[str, dict[str | None, tuple[int, dict[str, Any]]]] = {
    # list-images: an empty page that still has a token, and a token that needs escaping.
    "/v3/images/custom": {
        None: (200, {"images": [{"imageId": "a"}], "nextToken": "t1"}),
        "t1": (200, {"images": [], "nextToken": "t 2/+=é"}),
        "t 2/+=é": (200, {"images": [{"imageId": "b"}]}),
    },
    # get-cluster-log-events: at the end of the stream, the token sent comes back.
    "/v3/clusters/hpc/logstreams/node": {
        None: (200, {"events": [{"message": "1"}], "nextToken": "f1", "prevToken": "b0"}),
        "f1": (200, {"events": [{"message": "2"}], "nextToken": "f2", "prevToken": "b1"}),
        "f2": (200, {"events": [], "nextToken": "f2", "prevToken": "b2"}),
    },
    # get-cluster-stack-events: throttled on the second page.
    "/v3/clusters/hpc/stackevents": {
        None: (200, {"events": [{"eventId": "1"}], "nextToken": "x"}),
        "x": (429, {"message": "Too Many Requests"}),
    },
}


def new_session() -> boto3.session.Session:
    """A fresh boto3 session (credentials and region read from the environment now) on the shared loader."""
    core = botocore.session.get_session()
    core.register_component("data_loader", LOADER)
    return boto3.session.Session(botocore_session=core)


@dataclass
class Seen:
    """What the API server received and how it judged it."""

    access_key: str
    method: str
    path: str
    query: dict[str, list[str]]
    signed_headers: list[str]
    status: int


@dataclass
class FakeApi:
    """A local API Gateway stand-in that checks SigV4 signatures."""

    url: str
    seen: list[Seen] = field(default_factory=list)
    #: Scripted answers by (method, path without the stage): each request takes the next one, the
    #: last one repeats.
    script: dict[tuple[str, str], list[tuple[int, Any]]] = field(default_factory=dict)
    #: Set at teardown: answers that wait (slow paths) stop waiting.
    stop: threading.Event = field(default_factory=threading.Event)

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]

    def requests(self) -> list[tuple[str, str]]:
        """(method, path without the stage) of each request received, in order."""
        return [(seen.method, seen.path.removeprefix(STAGE)) for seen in self.seen]

    def tokens(self) -> list[str | None]:
        """The nextToken of each request received, in order."""
        return [seen.query.get("nextToken", [None])[-1] for seen in self.seen]


def _lookup_credentials(access_key: str) -> ReadOnlyCredentials | None:
    """Secret and session token of a key: the caller's, or one issued by moto's STS AssumeRole."""
    if access_key == CALLER_KEY:
        return ReadOnlyCredentials(CALLER_KEY, CALLER_SECRET, None)
    role = assumed_role(access_key)
    return None if role is None else ReadOnlyCredentials(access_key, role.secret_access_key, role.session_token)


def assumed_role(access_key: str) -> Any:
    """moto's record of the role session that ``access_key`` belongs to (role ARN, session name), or None."""
    return sts_backends[DEFAULT_ACCOUNT_ID]["aws"].get_assumed_role_from_access_key(access_key)


def _check_signature(method: str, target: str, headers: Any, body: bytes) -> tuple[str, str | None]:
    """(access key, None) for a correctly signed request, or (access key, reason) otherwise."""
    match = AUTHORIZATION.match(headers.get("Authorization", ""))
    if match is None:
        return "", "Missing Authentication Token"
    signed = match["headers"].split(";")
    amz_date = headers.get("X-Amz-Date", "")
    if (match["region"], match["service"]) != (REGION, "execute-api") or match["date"] != amz_date[:8]:
        return match["key"], "Credential should be scoped to a valid region and service"
    if not {"host", "x-amz-date"} <= set(signed):
        return match["key"], "host and x-amz-date must be signed"
    credentials = _lookup_credentials(match["key"])
    if credentials is None or headers.get("X-Amz-Security-Token") != credentials.token:
        return match["key"], "The security token included in the request is invalid"
    if credentials.token is not None and "x-amz-security-token" not in signed:
        return match["key"], "x-amz-security-token must be signed"
    # Recompute as API Gateway does: decode the query, then re-encode it canonically.
    parts = urlsplit(target)
    request = AWSRequest(
        method=method,
        url=f"http://{headers['Host']}{parts.path}",
        # botocore also takes a list of pairs (repeated keys), though typed as a mapping.
        params=parse_qsl(parts.query, keep_blank_values=True),  # type: ignore[arg-type]
        headers={name: headers.get(name, "") for name in signed},
        data=body,
    )
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(credentials, "execute-api", REGION)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    if not hmac.compare_digest(expected, match["signature"]):
        return match["key"], "signature mismatch"
    return match["key"], None


@dataclass
class Reply:
    """An answer: status, headers, the body in parts and the pause before each part."""

    status: int
    headers: dict[str, str]
    parts: Iterable[bytes]
    pause: float = 0.0


def _json_reply(status: int, document: Any) -> Reply:
    payload = json.dumps(document).encode()
    return Reply(status, {"Content-Type": "application/json", "Content-Length": str(len(payload))}, [payload])


def _reply(api: FakeApi, method: str, path: str, query: dict[str, list[str]], body: bytes, key: str) -> Reply:
    """The API's answer to a correctly signed request: chosen behaviours by path, else an echo."""
    route = path.removeprefix(STAGE)
    token = query.get("nextToken", [None])[-1]
    script = api.script.get((method, route))
    if script:
        return _json_reply(*(script.pop(0) if len(script) > 1 else script[0]))
    if method == "GET" and token in PAGES.get(route, {}):
        return _json_reply(*PAGES[route][token])
    if route == "/v3/text-after-first-page":
        if token is None:
            return _json_reply(200, {"items": [1], "nextToken": "n"})
        return Reply(200, {"Content-Type": "text/html", "Content-Length": "6"}, [b"<html>"])
    if route == "/v3/endless":
        page = int(token or 0)
        return _json_reply(200, {"items": [page], "nextToken": str(page + 1)})
    if route == "/v3/clusters/missing":
        return _json_reply(404, {"message": "Cluster 'missing' does not exist"})
    if route == "/v3/gateway-error":
        return Reply(502, {"Content-Type": "text/plain", "Content-Length": "11"}, [b"Bad Gateway"])
    if route == "/v3/redirect":
        return Reply(307, {"Location": f"{STAGE}/v3/clusters", "Content-Length": "20"}, [b'{"message": "moved"}'])
    if route == "/v3/slow":
        # The status line comes late.
        api.stop.wait(10)
        return _json_reply(200, {})
    if route == "/v3/drip":
        # Each byte comes before a read timeout would strike, the whole answer much later.
        payload = b'{"pad": "' + b"x" * 15 + b'"}'
        return Reply(200, {"Content-Length": str(len(payload))}, [bytes([b]) for b in payload], pause=0.1)
    if route == "/v3/at-limit":
        pad = MAX_ANSWER_BYTES - len(b'{"pad": ""}')
        payload = b'{"pad": "' + b"x" * pad + b'"}'
        return Reply(200, {"Content-Type": "application/json", "Content-Length": str(len(payload))}, [payload])
    if route == "/v3/over-limit-declared":
        return Reply(200, {"Content-Length": str(MAX_ANSWER_BYTES + 1)}, [b"{}"])
    if route == "/v3/over-limit-undeclared":
        # No Content-Length: the answer ends when the connection closes (HTTP/1.0).
        return Reply(200, {}, (b"x" * (1024 * 1024) for _ in range(11)))
    echo = {
        "method": method,
        "path": path,
        "query": query,
        "body": json.loads(body) if body else None,
        "accessKeyId": key,
    }
    return _json_reply(200, echo)


Answer = Callable[[FakeApi, str, str, dict[str, list[str]], bytes, str], Reply]


def _handler(api: FakeApi, answer: Answer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            access_key, failure = _check_signature(self.command, self.path, self.headers, body)
            parts = urlsplit(self.path)
            query = parse_qs(parts.query, keep_blank_values=True)
            if failure is None:
                reply = answer(api, self.command, parts.path, query, body, access_key)
            else:
                reply = _json_reply(403, {"message": failure})
            signed = AUTHORIZATION.match(self.headers.get("Authorization", ""))
            signed_headers = signed["headers"].split(";") if signed else []
            api.seen.append(Seen(access_key, self.command, parts.path, query, signed_headers, reply.status))
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                for part in reply.parts:
                    if api.stop.wait(reply.pause):
                        return
                    self.wfile.write(part)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on a slow or large answer, as it should

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@contextmanager
def serve_api(tls: ssl.SSLContext | None = None, answer: Answer = _reply) -> Iterator[FakeApi]:
    """The local API server, on an ephemeral loopback port, stopped at exit; over TLS with ``tls``.

    ``answer`` answers the correctly signed requests (method, path as received, decoded query,
    body, access key): by default the stand-in answers of :func:`_reply`.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "http" if tls is None else "https"
    fake = FakeApi(url=f"{scheme}://127.0.0.1:{server.server_address[1]}{STAGE}")
    server.RequestHandlerClass = _handler(fake, answer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def create_stack(stack_outputs: dict[str, Any], name: str = STACK) -> dict[str, str]:
    """Create a stack in moto with a role and the given outputs; return its evaluated outputs."""
    template = {
        "Resources": {"UserRole": ROLE_RESOURCE},
        "Outputs": {k: {"Value": v} for k, v in stack_outputs.items()},
    }
    cloudformation = new_session().client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def full_stack() -> dict[str, str]:
    """A stack like the deployed one: both outputs."""
    return create_stack(
        {outputs.INVOKE_URL: FAKE_INVOKE_URL, outputs.USER_ROLE: {"Fn::GetAtt": ["UserRole", "Arn"]}}
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str, session: Any = None) -> tuple[int, str, str]:
    """Run the command on stack ``STACK``; return (exit code, stdout, stderr)."""
    code = cli.main(["--stack-name", STACK, "--read-timeout", "5", *argv], session=session or new_session())
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def assert_one_line_error(err: str, *fragments: str) -> None:
    """stderr is one ``pcluster-api: error: ...`` line containing every fragment."""
    assert err.startswith("pcluster-api: error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def unanswered_port() -> Iterator[int]:
    """A loopback port whose connection queue is full: a new connection waits, neither accepted nor refused.

    On Linux a listening socket with backlog 0 queues one connection; further handshakes are
    dropped, so connecting hangs until the client's timeout.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        with socket.create_connection(("127.0.0.1", port)):
            yield port


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections (the kernel completes them) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files (certificate, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "local API")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = directory / "api.pem", directory / "api.key"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate_file, key_file


def elapsed(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``function``'s result and the seconds it took."""
    start = time.monotonic()
    result = function(*args, **kwargs)
    return result, time.monotonic() - start
