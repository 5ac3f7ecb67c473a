r"""Call the AWS ParallelCluster API of a deployed stack in one step.

The API is an API Gateway REST API with ``AWS_IAM`` authorization, so every
request must be SigV4-signed for the ``execute-api`` service. This command does
what the ParallelCluster documentation asks of a user, in one go:

1. read the stack outputs ``ParallelClusterApiInvokeUrl`` and
   ``ParallelClusterApiUserRole`` (CloudFormation DescribeStacks);
2. assume ``ParallelClusterApiUserRole`` with STS (``--no-assume-role`` signs
   with the caller's own credentials instead, e.g. for a stack deployed with
   ``CreateApiUserRole=false``);
3. sign the request with SigV4 for ``execute-api`` in the stack's region, send
   it over HTTPS and print the JSON answer, pretty-printed, on stdout.

Usage::

    pcluster-api --stack-name ParallelClusterApi [--region eu-west-1] \
        GET /v3/clusters --query region=eu-west-1
    pcluster-api --stack-name ParallelClusterApi POST /v3/clusters \
        --query region=eu-west-1 --body @create-cluster.json

``python -m constructs_lib.client`` is the same command. Credentials and the
default region come from the usual boto3 chain (``AWS_PROFILE``,
``AWS_REGION``...).

Exit codes:

* 0 -- the API answered 2xx;
* 1 -- the API answered another status (status and the API's ``message`` on
  stderr; a JSON answer is still printed on stdout);
* 2 -- bad command line (arguments, ``--query``, ``--body``, ``--endpoint-url``,
  no region);
* 3 -- AWS error before the call: stack not found, stack output missing or
  invalid, no credentials, access denied or any other AWS API error;
* 4 -- the API endpoint could not be reached (connection error, timeout).
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlencode, urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from constructs_lib import outputs

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_AWS_ERROR = 3
EXIT_UNREACHABLE = 4

PROG = "pcluster-api"
SERVICE = "execute-api"
INVOKE_URL_OUTPUT = outputs.INVOKE_URL
USER_ROLE_OUTPUT = outputs.USER_ROLE
ROLE_SESSION_NAME = "pcluster-api"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_TIMEOUT = 30.0
MAX_ERROR_TEXT = 200


class CliError(Exception):
    """An error reported as one line on stderr, with the exit code to return."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: they would forward the signed headers to another URL."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """Return None, so that a 3xx answer surfaces as an HTTP error."""
        return None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (argparse exits with code 2 on usage errors)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Call the AWS ParallelCluster API of a deployed stack: read the stack "
        "outputs, assume the API user role, SigV4-sign the request and print the JSON answer.",
        epilog="Exit codes: 0 success, 1 API answered non-2xx, 2 bad command line, "
        "3 AWS error (stack, outputs, credentials, access), 4 endpoint unreachable.",
    )
    parser.add_argument("--stack-name", required=True, help="name of the API stack")
    parser.add_argument("--region", help="region of the stack and the API (default: boto3 session region)")
    parser.add_argument(
        "--no-assume-role",
        action="store_true",
        help=f"sign with the caller's credentials instead of assuming {USER_ROLE_OUTPUT}",
    )
    parser.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="query parameter (repeatable), e.g. region=eu-west-1",
    )
    parser.add_argument("--body", metavar="JSON|@FILE", help="JSON request body, inline or read from a file")
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help=f"use this base URL instead of the {INVOKE_URL_OUTPUT} output, for testing or private DNS "
        "(https, or http on a loopback address)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait for the API (default: %(default)s)",
    )
    parser.add_argument("method", type=str.upper, choices=METHODS, help="HTTP method")
    parser.add_argument("path", help="resource path, not URL-encoded, e.g. /v3/clusters")
    return parser.parse_args(argv)


def parse_query(items: Sequence[str]) -> list[tuple[str, str]]:
    """Turn ``KEY=VALUE`` items into (key, value) pairs."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--query {item!r}: expected KEY=VALUE", EXIT_USAGE)
        pairs.append((key, value))
    return pairs


def read_body(body: str | None) -> bytes | None:
    """Return the request body as bytes (``@FILE`` reads a file), checking it is JSON."""
    if body is None:
        return None
    try:
        data = Path(body[1:]).read_bytes() if body.startswith("@") else body.encode()
    except OSError as err:
        raise CliError(f"--body: cannot read {body[1:]!r}: {err.strerror}", EXIT_USAGE) from err
    try:
        json.loads(data)
    except ValueError as err:
        raise CliError(f"--body is not valid JSON: {err}", EXIT_USAGE) from err
    return data


def check_base_url(url: str, *, allow_loopback_http: bool) -> str:
    """Return ``url`` without trailing slash if it is an https base URL.

    Plain http is accepted only when ``allow_loopback_http`` is set and the host is a
    loopback IP address (a local test server).
    """
    parts = urlsplit(url)
    if not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"not a base URL: {url!r}")
    if parts.scheme == "https":
        return url.rstrip("/")
    if allow_loopback_http and parts.scheme == "http" and _is_loopback_ip(parts.hostname):
        return url.rstrip("/")
    raise ValueError(f"refusing {url!r}: the API must be called over https")


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def request_target(path: str, query: Sequence[tuple[str, str]]) -> str:
    """Return the URL-encoded path and query string, encoded as SigV4 expects (RFC 3986)."""
    if not path.startswith("/") or "?" in path or "#" in path:
        raise CliError(f"path {path!r} must start with '/' (query parameters go in --query)", EXIT_USAGE)
    target = quote(path, safe="/")
    return f"{target}?{urlencode(query, quote_via=quote)}" if query else target


def describe_stack(cloudformation: Any, stack_name: str) -> Mapping[str, Any]:
    """Return the DescribeStacks description of ``stack_name`` (``cloudformation``: a boto3 client)."""
    try:
        stacks: list[Mapping[str, Any]] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as err:
        if err.response["Error"].get("Code") == "ValidationError" and "does not exist" in str(err):
            region = cloudformation.meta.region_name
            raise CliError(f"stack {stack_name!r} not found in {region}", EXIT_AWS_ERROR) from err
        raise
    return stacks[0]


def stack_output(stack: Mapping[str, Any], key: str, hint: str = "") -> str:
    """Return the value of output ``key`` of ``stack``."""
    for output in stack.get("Outputs", []):
        if output["OutputKey"] == key:
            return str(output["OutputValue"])
    raise CliError(
        f"stack {stack['StackName']!r} ({stack['StackStatus']}) has no output {key!r}{hint}", EXIT_AWS_ERROR
    )


def assume_role(sts: Any, role_arn: str) -> ReadOnlyCredentials:
    """Return temporary credentials of ``role_arn`` (STS AssumeRole; ``sts``: a boto3 client)."""
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME)["Credentials"]
    return ReadOnlyCredentials(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )


def caller_credentials(session: boto3.session.Session) -> ReadOnlyCredentials:
    """Return the credentials the boto3 session resolved for the caller."""
    credentials = session.get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    return credentials.get_frozen_credentials()


def sign_request(
    credentials: ReadOnlyCredentials, region: str, method: str, url: str, body: bytes | None
) -> AWSPreparedRequest:
    """Return the request SigV4-signed for ``execute-api`` in ``region``."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    return request.prepare()


def send(request: AWSPreparedRequest, timeout: float) -> tuple[int, bytes]:
    """Send ``request`` without following redirects; return (status, body)."""
    opener = urllib.request.build_opener(_NoRedirect)
    outgoing = urllib.request.Request(
        request.url,
        data=cast("bytes | None", request.body),
        headers=dict(request.headers.items()),
        method=request.method,
    )
    try:
        with opener.open(outgoing, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read()
    except (OSError, http.client.HTTPException) as err:
        reason = err.reason if isinstance(err, urllib.error.URLError) else err
        raise CliError(f"cannot reach {request.url}: {reason}", EXIT_UNREACHABLE) from err


def _json_or_none(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_ERROR_TEXT]


def _override_url(endpoint_url: str | None) -> str | None:
    if endpoint_url is None:
        return None
    try:
        return check_base_url(endpoint_url, allow_loopback_http=True)
    except ValueError as err:
        raise CliError(f"--endpoint-url: {err}", EXIT_USAGE) from err


def _invoke_url(stack: Mapping[str, Any]) -> str:
    try:
        return check_base_url(stack_output(stack, INVOKE_URL_OUTPUT), allow_loopback_http=False)
    except ValueError as err:
        raise CliError(f"output {INVOKE_URL_OUTPUT}: {err}", EXIT_AWS_ERROR) from err


def call_api(args: argparse.Namespace, session: boto3.session.Session) -> int:
    """Run the command described by ``args``; raise CliError or botocore errors on failure."""
    target = request_target(args.path, parse_query(args.query))
    body = read_body(args.body)
    override_url = _override_url(args.endpoint_url)
    region = args.region or session.region_name
    if not region:
        raise CliError("no region: pass --region or set AWS_REGION", EXIT_USAGE)
    stack = describe_stack(session.client("cloudformation", region_name=region), args.stack_name)
    url = (override_url or _invoke_url(stack)) + target
    if args.no_assume_role:
        credentials = caller_credentials(session)
    else:
        hint = " (deployed with CreateApiUserRole=false? use --no-assume-role)"
        role_arn = stack_output(stack, USER_ROLE_OUTPUT, hint)
        credentials = assume_role(session.client("sts", region_name=region), role_arn)
    status, payload = send(sign_request(credentials, region, args.method, url, body), args.timeout)
    answer = _json_or_none(payload)
    if answer is not None:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    if 200 <= status < 300:
        if answer is None and payload:
            print(payload.decode(errors="replace"))
        return EXIT_OK
    if isinstance(answer, dict) and isinstance(answer.get("message"), str):
        message = answer["message"]
    else:
        message = payload.decode(errors="replace") or "(empty answer)"
    raise CliError(f"{args.method} {args.path}: HTTP {status}: {_one_line(message)}", EXIT_API_ERROR)


def main(argv: Sequence[str] | None = None, session: boto3.session.Session | None = None) -> int:
    """Entry point of ``pcluster-api``; returns the exit code (see the module docstring).

    ``session`` replaces the default boto3 session (credentials, default region), for
    callers embedding the command.
    """
    args = parse_args(argv)
    try:
        return call_api(args, session or boto3.session.Session())
    except CliError as err:
        message, exit_code = str(err), err.exit_code
    except ClientError as err:
        error = err.response.get("Error", {})
        operation = err.operation_name
        message = f"{operation}: {error.get('Code', 'Unknown')}: {_one_line(error.get('Message', str(err)))}"
        exit_code = EXIT_AWS_ERROR
    except BotoCoreError as err:
        message, exit_code = _one_line(str(err)), EXIT_AWS_ERROR
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
