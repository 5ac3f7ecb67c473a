r"""Call the AWS ParallelCluster API of a deployed stack in one step: the ``pcluster-api`` command.

The API is an API Gateway REST API with ``AWS_IAM`` authorization, so every request must be
SigV4-signed for the ``execute-api`` service. This command does what the ParallelCluster
documentation asks of a user, in one go:

1. read the stack outputs ``ParallelClusterApiInvokeUrl`` and ``ParallelClusterApiUserRole``
   (CloudFormation DescribeStacks), and check that the URL is the stack's API endpoint or
   custom domain (:mod:`pcluster_api_client.endpoint`);
2. assume ``ParallelClusterApiUserRole`` with STS, in a session named after the caller
   (:mod:`pcluster_api_client.identity`; ``--session-name`` chooses the name,
   ``--no-assume-role`` signs with the caller's own credentials instead, e.g. for a stack
   deployed with ``CreateApiUserRole=false``);
3. sign the request with SigV4 for ``execute-api`` in the stack's Region, send it over HTTPS
   (:mod:`pcluster_api_client.transport`) and print the JSON answer, pretty-printed, on stdout.
   A GET answer with a ``nextToken`` is followed page by page and merged
   (:mod:`pcluster_api_client.pages`; ``--no-paginate`` prints one page).

Usage::

    pcluster-api --stack-name ParallelClusterApi [--region eu-west-1] \
        GET /v3/clusters --query region=eu-west-1
    pcluster-api --stack-name ParallelClusterApi POST /v3/clusters \
        --query region=eu-west-1 --body @create-cluster.json

``python -m pcluster_api_client`` is the same command. Credentials and the default Region come
from the usual boto3 chain (``AWS_PROFILE``, ``AWS_REGION``...).

Exit codes:

* 0 -- the API answered 2xx;
* 1 -- the API answered another status (status and the API's ``message`` on stderr; a JSON
  answer is still printed on stdout), or an answer over the size limit;
* 2 -- bad command line (arguments, ``--query``, ``--body``, ``--endpoint-url``,
  ``--session-name``, no Region);
* 3 -- AWS error before the call: stack not found, stack output missing or refused, no
  credentials, access denied or any other AWS API error;
* 4 -- the API endpoint could not be reached in time (connection error, timeout).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import boto3
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import BotoCoreError, ClientError

from pcluster_api_client import endpoint, identity, outputs, pages
from pcluster_api_client.errors import (
    EXIT_API_ERROR,
    EXIT_AWS_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
)
from pcluster_api_client.transport import MAX_ANSWER_BYTES, Transport, sign_request

PROG = "pcluster-api"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_CONNECT_TIMEOUT = 10.0
# API Gateway ends a request its integration has not answered after 29 seconds (REST API quota).
DEFAULT_TIMEOUT = 30.0
MAX_ERROR_TEXT = 200


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (argparse exits with code 2 on usage errors)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Call the AWS ParallelCluster API of a deployed stack: read the stack "
        "outputs, assume the API user role, SigV4-sign the request and print the JSON answer.",
        epilog=f"Answers over {MAX_ANSWER_BYTES} bytes are refused. Exit codes: 0 success, 1 API "
        "answered non-2xx (or too large), 2 bad command line, 3 AWS error (stack, outputs, "
        "credentials, access), 4 endpoint unreachable or too slow.",
    )
    parser.add_argument("--stack-name", required=True, help="name of the API stack")
    parser.add_argument("--region", help="Region of the stack and the API (default: boto3 session Region)")
    parser.add_argument(
        "--no-assume-role",
        action="store_true",
        help=f"sign with the caller's credentials instead of assuming {outputs.USER_ROLE}",
    )
    parser.add_argument(
        "--session-name",
        help="role session name, which the API's access log shows in the caller ARN "
        "(default: the caller's user or session name, from STS GetCallerIdentity)",
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
        "--no-paginate",
        action="store_true",
        help="print the first page of a GET answer only, with its nextToken",
    )
    parser.add_argument(
        "--max-pages",
        type=_positive_int,
        default=pages.DEFAULT_MAX_PAGES,
        help="follow at most this many pages of a GET answer (default: %(default)s)",
    )
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help=f"use this base URL instead of the {outputs.INVOKE_URL} output, for testing or private DNS "
        "(https, or http on a loopback address)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=DEFAULT_CONNECT_TIMEOUT,
        help="seconds to connect to the API, TLS included (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait for each answer once connected (default: %(default)s)",
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
    """The request body as bytes (``@FILE`` reads a file), checked to be JSON."""
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


def check_path(path: str) -> str:
    """``path`` URL-encoded as SigV4 expects (RFC 3986)."""
    if not path.startswith("/") or "?" in path or "#" in path:
        raise CliError(f"path {path!r} must start with '/' (query parameters go in --query)", EXIT_USAGE)
    return quote(path, safe="/")


def request_target(path: str, query: Sequence[tuple[str, str]]) -> str:
    """The URL-encoded path and query string, encoded as SigV4 expects (RFC 3986)."""
    target = check_path(path)
    return f"{target}?{urlencode(query, quote_via=quote)}" if query else target


def describe_stack(cloudformation: Any, stack_name: str) -> Mapping[str, Any]:
    """The DescribeStacks description of ``stack_name`` (``cloudformation``: a boto3 client)."""
    try:
        stacks: list[Mapping[str, Any]] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as err:
        if err.response["Error"].get("Code") == "ValidationError" and "does not exist" in str(err):
            region = cloudformation.meta.region_name
            raise CliError(f"stack {stack_name!r} not found in {region}", EXIT_AWS_ERROR) from err
        raise
    return stacks[0]


def stack_output(stack: Mapping[str, Any], key: str, hint: str = "") -> str:
    """The value of output ``key`` of ``stack``."""
    for output in stack.get("Outputs", []):
        if output["OutputKey"] == key:
            return str(output["OutputValue"])
    raise CliError(
        f"stack {stack['StackName']!r} ({stack['StackStatus']}) has no output {key!r}{hint}", EXIT_AWS_ERROR
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_ERROR_TEXT]


def _override_url(endpoint_url: str | None) -> str | None:
    if endpoint_url is None:
        return None
    try:
        return endpoint.check_base_url(endpoint_url, allow_loopback_http=True)
    except ValueError as err:
        raise CliError(f"--endpoint-url: {err}", EXIT_USAGE) from err


def _check_session_name(args: argparse.Namespace) -> None:
    if args.session_name is None:
        return
    if args.no_assume_role:
        raise CliError("--session-name names a session of the user role: drop --no-assume-role", EXIT_USAGE)
    if not identity.SESSION_NAME.fullmatch(args.session_name):
        raise CliError(f"--session-name {args.session_name!r}: expected {identity.SESSION_NAME_FORM}", EXIT_USAGE)


def _invoke_url(stack: Mapping[str, Any], cloudformation: Any, region: str) -> str:
    url = stack_output(stack, outputs.INVOKE_URL)
    try:
        return endpoint.check_invoke_url(
            url, region=region, stack_domains=lambda: endpoint.custom_domains(cloudformation, stack["StackId"])
        )
    except ValueError as err:
        raise CliError(f"output {outputs.INVOKE_URL} of stack {stack['StackName']!r}: {err}", EXIT_AWS_ERROR) from err


def _credentials(
    args: argparse.Namespace, session: boto3.session.Session, stack: Mapping[str, Any], region: str
) -> ReadOnlyCredentials:
    if args.no_assume_role:
        return identity.caller_credentials(session)
    hint = " (deployed with CreateApiUserRole=false? use --no-assume-role)"
    role_arn = stack_output(stack, outputs.USER_ROLE, hint)
    sts = session.client("sts", region_name=region)
    session_name = args.session_name or identity.caller_session_name(sts)
    return identity.assume_role(sts, role_arn, session_name)


def call_api(args: argparse.Namespace, session: boto3.session.Session) -> int:
    """Run the command described by ``args``; raise CliError or botocore errors on failure."""
    check_path(args.path)
    query = parse_query(args.query)
    body = read_body(args.body)
    override_url = _override_url(args.endpoint_url)
    _check_session_name(args)
    region = args.region or session.region_name
    if not region:
        raise CliError("no region: pass --region or set AWS_REGION", EXIT_USAGE)
    cloudformation = session.client("cloudformation", region_name=region)
    stack = describe_stack(cloudformation, args.stack_name)
    base_url = override_url or _invoke_url(stack, cloudformation, region)
    credentials = _credentials(args, session, stack, region)
    transport = Transport(connect_timeout=args.connect_timeout, read_timeout=args.timeout)

    def send(page_query: pages.Query) -> tuple[int, bytes]:
        url = base_url + request_target(args.path, page_query)
        return transport.send(sign_request(credentials, region, args.method, url, body))

    paginate = args.method == "GET" and not args.no_paginate
    answer = pages.get_pages(send, query, max_pages=args.max_pages if paginate else 1)
    label = f"{args.method} {args.path}" + (f" (page {answer.pages})" if answer.pages > 1 else "")
    ok = 200 <= answer.status < 300
    if ok and answer.pages > 1 and not isinstance(answer.document, dict):
        raise CliError(f"{label}: the answer is not a JSON object", EXIT_API_ERROR)
    if answer.document is not None:
        print(json.dumps(answer.document, indent=2, ensure_ascii=False))
    if ok:
        if answer.document is None and answer.payload:
            print(answer.payload.decode(errors="replace"))
        if paginate and answer.truncated:
            print(
                f"{PROG}: warning: stopped after {answer.pages} pages (--max-pages); "
                f"the answer's {pages.NEXT_TOKEN} continues from there",
                file=sys.stderr,
            )
        return EXIT_OK
    document = answer.document
    if isinstance(document, dict) and isinstance(document.get("message"), str):
        message = document["message"]
    else:
        message = answer.payload.decode(errors="replace") or "(empty answer)"
    raise CliError(f"{label}: HTTP {answer.status}: {_one_line(message)}", EXIT_API_ERROR)


def main(argv: Sequence[str] | None = None, session: boto3.session.Session | None = None) -> int:
    """Entry point of ``pcluster-api``; returns the exit code (see the module docstring).

    ``session`` replaces the default boto3 session (credentials, default Region), for callers
    embedding the command.
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
