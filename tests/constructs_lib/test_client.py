"""Tests of the signed ParallelCluster API client (``constructs_lib.client``).

CloudFormation and STS are moto's; the API is a local HTTP server that checks every
request the way API Gateway's AWS_IAM authorization does: it recomputes the SigV4
signature from what it received (method, path, decoded and re-encoded query, the
signed headers, body) with the secret of the access key in the Authorization header,
and answers 403 when the signatures differ.
"""

from __future__ import annotations

import hmac
import json
import re
import socket
import threading
from collections.abc import Iterator
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
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sts.models import sts_backends

from constructs_lib import client

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
    signed_headers: list[str]
    status: int


@dataclass
class FakeApi:
    """A local API Gateway stand-in that checks SigV4 signatures."""

    url: str
    seen: list[Seen] = field(default_factory=list)


def _lookup_credentials(access_key: str) -> ReadOnlyCredentials | None:
    """Secret and session token of a key: the caller's, or one issued by moto's STS AssumeRole."""
    if access_key == CALLER_KEY:
        return ReadOnlyCredentials(CALLER_KEY, CALLER_SECRET, None)
    role = sts_backends[DEFAULT_ACCOUNT_ID]["aws"].get_assumed_role_from_access_key(access_key)
    return (
        None if role is None else ReadOnlyCredentials(access_key, role.secret_access_key, role.session_token)
    )


def _check_signature(method: str, target: str, headers: Any, body: bytes) -> tuple[str, str | None]:
    """Return (access key, None) for a correctly signed request, or (access key, reason) otherwise."""
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


def _answer(
    path: str, query: str, body: bytes, method: str, access_key: str
) -> tuple[int, dict[str, str], bytes]:
    """The API's answer to a correctly signed request: errors on chosen paths, else an echo."""
    json_type = {"Content-Type": "application/json"}
    if path == f"{STAGE}/v3/clusters/missing":
        return 404, json_type, json.dumps({"message": "Cluster 'missing' does not exist"}).encode()
    if path == f"{STAGE}/v3/gateway-error":
        return 502, {"Content-Type": "text/plain"}, b"Bad Gateway"
    if path == f"{STAGE}/v3/redirect":
        return 307, {**json_type, "Location": f"{STAGE}/v3/clusters"}, b'{"message": "moved"}'
    echo = {
        "method": method,
        "path": path,
        "query": parse_qs(query, keep_blank_values=True),
        "body": json.loads(body) if body else None,
        "accessKeyId": access_key,
    }
    return 200, json_type, json.dumps(echo).encode()


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            access_key, failure = _check_signature(self.command, self.path, self.headers, body)
            if failure is None:
                parts = urlsplit(self.path)
                status, headers, payload = _answer(parts.path, parts.query, body, self.command, access_key)
            else:
                status, headers = 403, {"Content-Type": "application/json"}
                payload = json.dumps({"message": failure}).encode()
            signed = AUTHORIZATION.match(self.headers.get("Authorization", ""))
            signed_headers = signed["headers"].split(";") if signed else []
            api.seen.append(Seen(access_key, self.command, self.path, signed_headers, status))
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake credentials and region, no local AWS configuration, no proxy; moto active."""
    for name in (
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_SESSION_TOKEN",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with mock_aws():
        yield


@pytest.fixture
def api() -> Iterator[FakeApi]:
    """The local API server, on an ephemeral loopback port, stopped at teardown."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    fake = FakeApi(url=f"http://127.0.0.1:{server.server_address[1]}{STAGE}")
    server.RequestHandlerClass = _handler(fake)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def create_stack(outputs: dict[str, Any], name: str = STACK) -> dict[str, str]:
    """Create a stack in moto with a role and the given outputs; return its evaluated outputs."""
    template = {
        "Resources": {"UserRole": ROLE_RESOURCE},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    cloudformation = new_session().client("cloudformation", region_name=REGION)
    cloudformation.create_stack(
        StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
    )
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def full_stack() -> dict[str, str]:
    """A stack like the deployed one: both outputs."""
    return create_stack(
        {
            client.INVOKE_URL_OUTPUT: FAKE_INVOKE_URL,
            client.USER_ROLE_OUTPUT: {"Fn::GetAtt": ["UserRole", "Arn"]},
        }
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the command; return (exit code, stdout, stderr)."""
    code = client.main(["--stack-name", STACK, "--timeout", "5", *argv], session=new_session())
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


@pytest.mark.usefixtures("aws")
def test_get_prints_json_signed_with_the_assumed_role(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = full_stack()

    code, out, err = run(
        capsys, "--endpoint-url", api.url, "GET", "/v3/clusters", "--query", f"region={REGION}"
    )

    assert (code, err) == (0, "")
    answer = json.loads(out)
    assert out == json.dumps(answer, indent=2) + "\n"
    assert answer["path"] == f"{STAGE}/v3/clusters" and answer["query"] == {"region": [REGION]}
    [seen] = api.seen
    assert seen.status == 200 and seen.access_key == answer["accessKeyId"] != CALLER_KEY
    role = sts_backends[DEFAULT_ACCOUNT_ID]["aws"].get_assumed_role_from_access_key(seen.access_key)
    assert role is not None and role.role_arn == outputs[client.USER_ROLE_OUTPUT]
    assert "x-amz-security-token" in seen.signed_headers


@pytest.mark.usefixtures("aws")
def test_query_values_needing_escaping_are_signed(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()
    query = [("region", REGION), ("nextToken", "a b/c+d=é&~"), ("clusterStatus", "CREATE_COMPLETE")]
    query.append(("clusterStatus", "UPDATE_COMPLETE"))

    code, out, err = run(
        capsys, "--endpoint-url", api.url, "get", "/v3/clusters", *(f"--query={k}={v}" for k, v in query)
    )

    assert (code, err) == (0, "")
    assert json.loads(out)["query"] == {
        "region": [REGION],
        "nextToken": ["a b/c+d=é&~"],
        "clusterStatus": ["CREATE_COMPLETE", "UPDATE_COMPLETE"],
    }


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("from_file", [False, True], ids=["inline", "at-file"])
def test_post_body_is_signed(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path, from_file: bool
) -> None:
    full_stack()
    body = {"clusterName": "hpc", "clusterConfiguration": "Image:\n  Os: alinux2023\n"}
    path = tmp_path / "create.json"
    path.write_text(json.dumps(body))

    code, out, err = run(
        capsys,
        "--endpoint-url",
        api.url,
        "POST",
        "/v3/clusters",
        "--query",
        f"region={REGION}",
        "--body",
        f"@{path}" if from_file else json.dumps(body),
    )

    assert (code, err) == (0, "")
    answer = json.loads(out)
    assert (answer["method"], answer["body"]) == ("POST", body)
    assert "content-type" in api.seen[0].signed_headers


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
    url = api.url + client.request_target("/v3/clusters", [("region", REGION)])
    if tamper == "form-encoded-query":
        # "+" for a space is form encoding, not SigV4's: the server decodes it to " " and
        # re-encodes "%20", so a client that encoded queries this way would be refused.
        url += "&nextToken=a+b"
    request = client.sign_request(credentials, REGION, "POST", url, b'{"a": 1}')
    if tamper == "query":
        request.url = request.url.replace(REGION, "us-east-1")
    elif tamper == "body":
        request.body = b'{"a": 2}'
    elif tamper == "unsigned":
        del request.headers["Authorization"]

    answer_status, payload = client.send(request, timeout=5)

    assert answer_status == status
    assert message is None or json.loads(payload) == {"message": message}


@pytest.mark.usefixtures("aws")
def test_wrong_caller_secret_is_refused_through_the_cli(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    full_stack()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")

    code, out, err = run(capsys, "--endpoint-url", api.url, "--no-assume-role", "GET", "/v3/clusters")

    assert code == client.EXIT_API_ERROR
    assert_one_line_error(err, "GET /v3/clusters: HTTP 403: signature mismatch")
    assert json.loads(out) == {"message": "signature mismatch"}


@pytest.mark.usefixtures("aws")
def test_no_assume_role_signs_with_the_callers_credentials(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    create_stack({client.INVOKE_URL_OUTPUT: FAKE_INVOKE_URL})

    code, out, err = run(capsys, "--endpoint-url", api.url, "--no-assume-role", "DELETE", "/v3/clusters/hpc")

    assert (code, err) == (0, "")
    assert json.loads(out)["accessKeyId"] == CALLER_KEY
    assert api.seen[0].method == "DELETE" and "x-amz-security-token" not in api.seen[0].signed_headers


@pytest.mark.usefixtures("aws")
def test_missing_stack(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--region", "us-east-1", "--endpoint-url", api.url, "GET", "/v3/clusters")

    assert (code, out) == (client.EXIT_AWS_ERROR, "")
    assert_one_line_error(err, f"stack '{STACK}' not found in us-east-1")
    assert api.seen == []


@pytest.mark.usefixtures("aws")
def test_missing_user_role_output(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    create_stack({client.INVOKE_URL_OUTPUT: FAKE_INVOKE_URL})

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/clusters")

    assert (code, out) == (client.EXIT_AWS_ERROR, "")
    assert_one_line_error(err, "has no output 'ParallelClusterApiUserRole'", "--no-assume-role")
    assert api.seen == []


@pytest.mark.usefixtures("aws")
def test_missing_invoke_url_output(capsys: pytest.CaptureFixture[str]) -> None:
    create_stack({client.USER_ROLE_OUTPUT: {"Fn::GetAtt": ["UserRole", "Arn"]}})

    code, out, err = run(capsys, "GET", "/v3/clusters")

    assert (code, out) == (client.EXIT_AWS_ERROR, "")
    assert_one_line_error(
        err, f"stack '{STACK}' (CREATE_COMPLETE) has no output 'ParallelClusterApiInvokeUrl'"
    )


@pytest.mark.usefixtures("aws")
def test_invoke_url_output_is_used_and_must_be_https(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    create_stack({client.INVOKE_URL_OUTPUT: api.url}, name="PlainHttp")
    port = closed_port()
    create_stack({client.INVOKE_URL_OUTPUT: f"https://127.0.0.1:{port}/prod"}, name="Https")

    plain = client.main(
        ["--stack-name", "PlainHttp", "--no-assume-role", "GET", "/v3/clusters"], new_session()
    )
    _, plain_err = capsys.readouterr()
    argv = ["--stack-name", "Https", "--no-assume-role", "--timeout", "5", "GET", "/v3/clusters"]
    https = client.main(argv, new_session())
    _, https_err = capsys.readouterr()

    assert plain == client.EXIT_AWS_ERROR
    assert_one_line_error(plain_err, "ParallelClusterApiInvokeUrl", "must be called over https")
    assert api.seen == []
    assert https == client.EXIT_UNREACHABLE
    assert_one_line_error(https_err, f"cannot reach https://127.0.0.1:{port}/prod/v3/clusters")


@pytest.mark.usefixtures("aws")
def test_api_error_prints_status_and_message(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/clusters/missing")
    assert code == client.EXIT_API_ERROR
    assert_one_line_error(err, "GET /v3/clusters/missing: HTTP 404: Cluster 'missing' does not exist")
    assert json.loads(out) == {"message": "Cluster 'missing' does not exist"}

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/gateway-error")
    assert (code, out) == (client.EXIT_API_ERROR, "")
    assert_one_line_error(err, "HTTP 502: Bad Gateway")


@pytest.mark.usefixtures("aws")
def test_redirects_are_not_followed(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, _, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/redirect")

    assert code == client.EXIT_API_ERROR
    assert_one_line_error(err, "HTTP 307: moved")
    assert [seen.path for seen in api.seen] == [f"{STAGE}/v3/redirect"]


@pytest.mark.usefixtures("aws")
def test_access_denied_when_assuming_the_role(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    full_stack()
    iam = new_session().client("iam", region_name=REGION)
    iam.create_user(UserName="reader")
    statement = {"Effect": "Allow", "Action": "cloudformation:DescribeStacks", "Resource": "*"}
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    iam.put_user_policy(UserName="reader", PolicyName="describe", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])

    # From here on moto enforces IAM policies.
    code, out, err = set_initial_no_auth_action_count(0)(run)(
        capsys, "--endpoint-url", api.url, "GET", "/v3/clusters"
    )

    assert (code, out) == (client.EXIT_AWS_ERROR, "")
    assert_one_line_error(err, "AssumeRole: AccessDenied: ", "not authorized to perform: sts:AssumeRole")
    assert api.seen == []


@pytest.mark.usefixtures("aws")
def test_no_credentials(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    full_stack()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    code, out, err = run(capsys, "GET", "/v3/clusters")

    assert (code, out) == (client.EXIT_AWS_ERROR, "")
    assert_one_line_error(err, "Unable to locate credentials")


@pytest.mark.usefixtures("aws")
def test_unreachable_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()
    port = closed_port()

    code, out, err = run(capsys, "--endpoint-url", f"http://127.0.0.1:{port}/prod", "GET", "/v3/clusters")

    assert (code, out) == (client.EXIT_UNREACHABLE, "")
    assert_one_line_error(err, f"cannot reach http://127.0.0.1:{port}/prod/v3/clusters")


@pytest.mark.usefixtures("aws")
def test_no_region(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    code, out, err = run(capsys, "GET", "/v3/clusters")

    assert (code, out) == (client.EXIT_USAGE, "")
    assert_one_line_error(err, "no region")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--query", "region", "GET", "/v3/clusters"], "--query 'region': expected KEY=VALUE"),
        (["--body", "{not json", "POST", "/v3/clusters"], "--body is not valid JSON"),
        (["--body", "@/nonexistent/create.json", "POST", "/v3/clusters"], "--body: cannot read"),
        (["GET", "v3/clusters"], "must start with '/'"),
        (["GET", "/v3/clusters?region=eu-west-1"], "query parameters go in --query"),
        (["--endpoint-url", "http://example.com/prod", "GET", "/v3/clusters"], "must be called over https"),
        (
            ["--endpoint-url", "http://localhost:8080/prod", "GET", "/v3/clusters"],
            "must be called over https",
        ),
        (["--endpoint-url", "ftp://127.0.0.1/prod", "GET", "/v3/clusters"], "must be called over https"),
        (["--endpoint-url", "https://x.example.com/prod?a=b", "GET", "/v3/clusters"], "not a base URL"),
    ],
)
@pytest.mark.usefixtures("aws")
def test_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str], fragment: str) -> None:
    code, out, err = run(capsys, *args)

    assert (code, out) == (client.EXIT_USAGE, "")
    assert_one_line_error(err, fragment)


def test_argparse_rejects_unknown_method(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        client.main(["--stack-name", STACK, "TRACE", "/v3/clusters"])

    assert exit_info.value.code == client.EXIT_USAGE
    assert "invalid choice: 'TRACE'" in capsys.readouterr().err
