r"""Call the AWS ParallelCluster API of a deployed stack in one step: the ``pcluster-api`` command.

The API is an API Gateway REST API with ``AWS_IAM`` authorization: every request must be
SigV4-signed for ``execute-api``. The command reads the stack's outputs, assumes the API user role
in a session named after the caller, signs the request, sends it and prints the JSON answer
(:mod:`pcluster_api_client.connection`). It takes two forms.

**The official ``pcluster`` CLI's commands**, one for each operation of the API, with the same
flags and values (:mod:`pcluster_api_client.operations`)::

    pcluster-api --stack-name ParallelClusterApi create-cluster -n hpc -c cluster.yaml -r eu-west-1 --wait
    pcluster-api --stack-name ParallelClusterApi describe-cluster -n hpc --query clusterStatus

``--cluster-configuration`` and ``--image-configuration`` name the YAML file to send. ``--query``
is a JMESPath expression applied to the answer, as in ``pcluster`` and the AWS CLI. ``--region``
is the Region of the clusters and images (sent as the operations' ``region`` parameter) and, unless
``--api-region`` says otherwise, of the API stack. ``--wait`` (create, update and delete-cluster,
build and delete-image) polls the describe operation until the operation ends, at most
``--timeout`` seconds (:mod:`pcluster_api_client.waiter`), then prints the final state.

**A raw request**, for anything else::

    pcluster-api --stack-name ParallelClusterApi GET /v3/clusters --query-param region=eu-west-1
    pcluster-api --stack-name ParallelClusterApi POST /v3/clusters --body @create-cluster.json

The raw form's ``--query KEY=VALUE`` and ``--timeout SECONDS`` are the older spellings of
``--query-param`` and ``--read-timeout``; they work for this release, with a warning.

A GET answer with a ``nextToken`` is followed page by page and merged
(:mod:`pcluster_api_client.pages`; ``--no-paginate`` prints one page). ``--stack-name`` defaults to
``$PCLUSTER_API_STACK_NAME``; credentials and the default Region come from the usual boto3 chain
(``AWS_PROFILE``, ``AWS_REGION``...). ``python -m pcluster_api_client`` is the same command.

Exit codes:

* 0 -- the API answered 2xx (with ``--wait``: the operation succeeded);
* 1 -- the API answered another status (status and the API's ``message`` on stderr; a JSON
  answer is still printed on stdout, as ``pcluster`` prints its errors), an answer over the size
  limit, or with ``--wait`` an operation that failed (its final state on stdout);
* 2 -- bad command line (arguments, files, ``--query``, ``--body``, ``--endpoint-url``,
  ``--session-name``, no stack name, no Region);
* 3 -- AWS error before the call: stack not found, stack output missing or refused, no
  credentials, access denied or any other AWS API error;
* 4 -- the API endpoint could not be reached in time (connection error, timeout);
* 5 -- ``--wait``: the operation had not ended after ``--timeout`` seconds;
* 130 -- interrupted (Ctrl-C); an operation that ``--wait`` followed goes on.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import boto3
import jmespath
import jmespath.exceptions
from botocore.exceptions import BotoCoreError, ClientError

from pcluster_api_client import connection, operations, outputs, pages, waiter
from pcluster_api_client.errors import (
    EXIT_API_ERROR,
    EXIT_AWS_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    api_message,
    one_line,
)
from pcluster_api_client.operations import BY_NAME, OPERATIONS, Operation, Parameter, request_target
from pcluster_api_client.transport import MAX_ANSWER_BYTES

PROG = connection.PROG
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
STACK_NAME_VARIABLE = "PCLUSTER_API_STACK_NAME"
DEFAULT_CONNECT_TIMEOUT = 10.0
# API Gateway ends a request its integration has not answered after 29 seconds (REST API quota).
DEFAULT_READ_TIMEOUT = 30.0
# As `aws cloudformation wait stack-create-complete`: 120 polls, 30 seconds apart (botocore's
# CloudFormation waiter model), so at most an hour.
DEFAULT_WAIT_TIMEOUT = 3600.0
DEFAULT_POLL_INTERVAL = 30.0
EXIT_CODES = (
    "Exit codes: 0 success, 1 the API answered non-2xx (or too large) or the awaited operation failed, "
    "2 bad command line, 3 AWS error (stack, outputs, credentials, access), 4 endpoint unreachable or too "
    "slow, 5 --wait ran out of --timeout."
)


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


def _boolean(text: str) -> bool:
    """true or false, in any case (the official CLI takes true, True, TRUE and the same for false)."""
    if text.lower() not in operations.BOOLEANS:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return operations.BOOLEANS[text.lower()]


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


VALUE_TYPES: dict[str, Callable[[str], Any]] = {"string": str, "boolean": _boolean, "integer": _integer, "file": str}
METAVARS = {"boolean": "{true,false}", "integer": "N", "file": "FILE"}


def _dest(parameter: Parameter) -> str:
    return f"parameter_{parameter.name}"


def _metavar(parameter: Parameter) -> str | None:
    """How help shows a flag's value: its choices (argparse's own), its kind, or its name (``CLUSTER_NAME``)."""
    if parameter.choices:
        return None
    return METAVARS.get(parameter.kind, parameter.flags[-1].removeprefix("--").upper().replace("-", "_"))


def _add_connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The options about reaching the API: accepted before the command (``top``) and after it."""

    def default(value: Any) -> Any:
        # After the command, an option not given must not replace the value given before it.
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("connection options")
    group.add_argument(
        "--stack-name", default=default(None), help=f"name of the API stack (default: ${STACK_NAME_VARIABLE})"
    )
    group.add_argument(
        "-r",
        "--region",
        default=default(None),
        help="Region of the clusters and images (the commands' region parameter) and of the API stack "
        "(default: the boto3 session's Region)",
    )
    group.add_argument("--api-region", default=default(None), help="Region of the API stack, if not --region's")
    group.add_argument(
        "--no-assume-role",
        action="store_true",
        default=default(False),
        help=f"sign with the caller's credentials instead of assuming {outputs.USER_ROLE}",
    )
    group.add_argument(
        "--session-name",
        default=default(None),
        help="role session name, which the API's access log shows in the caller ARN "
        "(default: the caller's user or session name, from STS GetCallerIdentity)",
    )
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        default=default(None),
        help=f"use this base URL instead of the {outputs.INVOKE_URL} output, for testing or private DNS "
        "(https, or http on a loopback address)",
    )
    group.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=default(DEFAULT_CONNECT_TIMEOUT),
        help=f"seconds to connect to the API, TLS included (default: {DEFAULT_CONNECT_TIMEOUT:g})",
    )
    group.add_argument(
        "--read-timeout",
        type=_seconds,
        default=default(None),
        help=f"seconds to wait for each answer once connected (default: {DEFAULT_READ_TIMEOUT:g})",
    )
    group.add_argument(
        "--no-paginate",
        action="store_true",
        default=default(False),
        help="print the first page of a list answer only, with its nextToken",
    )
    group.add_argument(
        "--max-pages",
        type=_positive_int,
        default=default(pages.DEFAULT_MAX_PAGES),
        help=f"follow at most this many pages of a list answer (default: {pages.DEFAULT_MAX_PAGES})",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="print each request's method, URL, status and duration on stderr",
    )


def _add_operation(subparsers: Any, operation: Operation) -> None:
    parser = subparsers.add_parser(
        operation.name,
        help=operation.help,
        description=f"{operation.help[0].upper()}{operation.help[1:]}: {operation.method} {operation.path}.",
        epilog=EXIT_CODES,
    )
    parser.set_defaults(operation=operation)
    for parameter in operation.parameters:
        parser.add_argument(
            *parameter.flags,
            dest=_dest(parameter),
            required=parameter.required,
            choices=parameter.choices or None,
            nargs="+" if parameter.multiple else None,
            type=VALUE_TYPES[parameter.kind],
            metavar=_metavar(parameter),
            help=parameter.help,
        )
    parser.add_argument(
        "--query",
        default=argparse.SUPPRESS,
        metavar="EXPRESSION",
        help="JMESPath expression applied to the answer, as in pcluster and the AWS CLI",
    )
    if operation.wait is not None:
        parser.add_argument(
            "--wait",
            action="store_true",
            default=argparse.SUPPRESS,
            help=f"poll until the {operation.wait.noun}'s operation ends and print its final state "
            "(exit code 1 if it failed)",
        )
        parser.add_argument(
            "--timeout",
            type=_seconds,
            default=argparse.SUPPRESS,
            help=f"with --wait: give up after this many seconds, with exit code 5 (default: {DEFAULT_WAIT_TIMEOUT:g})",
        )
        parser.add_argument(
            "--poll-interval",
            type=_seconds,
            default=argparse.SUPPRESS,
            help=f"with --wait: seconds between two polls (default: {DEFAULT_POLL_INTERVAL:g})",
        )
    _add_connection_options(parser, top=False)


def _add_raw_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The raw form's own options; before the method they are accepted (as before) but not listed."""

    def shown(text: str) -> str:
        return argparse.SUPPRESS if top else text

    # Before and after the method, lists go to different destinations: run() joins them.
    suffix = "_before" if top else ""
    parser.add_argument(
        "--query-param",
        action="append",
        dest=f"query_param{suffix}",
        default=[] if top else argparse.SUPPRESS,
        metavar="KEY=VALUE",
        help=shown("query parameter (repeatable), e.g. region=eu-west-1"),
    )
    parser.add_argument(
        "--body",
        default=None if top else argparse.SUPPRESS,
        metavar="JSON|@FILE",
        help=shown("JSON request body, inline or read from a file"),
    )
    parser.add_argument(
        "--query",
        action="append",
        dest=f"query{suffix}",
        default=[] if top else argparse.SUPPRESS,
        metavar="KEY=VALUE",
        help=shown("deprecated spelling of --query-param; --query will become a JMESPath expression, as in the commands"),
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=None if top else argparse.SUPPRESS,
        help=shown("deprecated spelling of --read-timeout"),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Call the AWS ParallelCluster API of a deployed stack with the official pcluster CLI's "
        "commands and flags, or as a raw request (METHOD PATH): read the stack outputs, assume the API user "
        "role, SigV4-sign the request and print the JSON answer.",
        epilog=f"Answers over {MAX_ANSWER_BYTES} bytes are refused. {EXIT_CODES} "
        f'For a command\'s flags: "{PROG} COMMAND --help".',
    )
    _add_connection_options(parser, top=True)
    _add_raw_options(parser, top=True)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command", required=True)
    for operation in OPERATIONS:
        _add_operation(subparsers, operation)
    for method in METHODS:
        raw = subparsers.add_parser(
            method,
            aliases=[method.lower()],
            help=f"raw {method} request: PATH, then --query-param and --body",
            description=f"A raw {method} request to PATH, for operations without a command.",
            epilog=EXIT_CODES,
        )
        raw.set_defaults(method=method)
        raw.add_argument("path", help="resource path, not URL-encoded, e.g. /v3/clusters")
        _add_raw_options(raw, top=False)
        _add_connection_options(raw, top=False)
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (argparse exits with code 2 on usage errors)."""
    return build_parser().parse_args(argv)


def warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def parse_query(items: Sequence[str], option: str) -> list[tuple[str, str]]:
    """Turn ``KEY=VALUE`` items into (key, value) pairs."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"{option} {item!r}: expected KEY=VALUE", EXIT_USAGE)
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


def read_configuration(parameter: Parameter, path: str) -> str:
    """The text of the file a configuration flag names."""
    flag = parameter.flags[-1]
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise CliError(f"{flag}: cannot read {path!r}: {err.strerror}", EXIT_USAGE) from err
    except UnicodeDecodeError as err:
        raise CliError(f"{flag}: {path!r} is not UTF-8 text: {err.reason} at byte {err.start}", EXIT_USAGE) from err


def check_path(path: str) -> str:
    """``path`` URL-encoded as SigV4 expects (RFC 3986)."""
    if not path.startswith("/") or "?" in path or "#" in path:
        raise CliError(f"path {path!r} must start with '/' (query parameters go in --query-param)", EXIT_USAGE)
    return quote(path, safe="/")


def compile_query(expressions: Sequence[str]) -> Any:
    """The compiled JMESPath expression of ``--query``, or None."""
    if not expressions:
        return None
    if len(expressions) > 1:
        raise CliError("--query: give one JMESPath expression", EXIT_USAGE)
    try:
        return jmespath.compile(expressions[0])
    except jmespath.exceptions.JMESPathError as err:
        raise CliError(f"--query {expressions[0]!r}: not a JMESPath expression: {one_line(str(err))}", EXIT_USAGE) from err


def print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False))


def report(answer: pages.Answer, label: str, *, paginate: bool, expression: Any = None) -> int:
    """Print an answer (the error's JSON too, as ``pcluster`` prints errors); raise CliError unless 2xx."""
    label += f" (page {answer.pages})" if answer.pages > 1 else ""
    ok = 200 <= answer.status < 300
    if ok and answer.pages > 1 and not isinstance(answer.document, dict):
        raise CliError(f"{label}: the answer is not a JSON object", EXIT_API_ERROR)
    if answer.document is not None:
        print_json(expression.search(answer.document) if ok and expression is not None else answer.document)
    if not ok:
        raise CliError(f"{label}: HTTP {answer.status}: {api_message(answer.document, answer.payload)}", EXIT_API_ERROR)
    if answer.document is None and answer.payload:
        print(answer.payload.decode(errors="replace"))
    if paginate and answer.truncated:
        warn(f"stopped after {answer.pages} pages (--max-pages); the answer's {pages.NEXT_TOKEN} continues from there")
    return EXIT_OK


class Progress:
    """The state of a wait on one line of a terminal, rewritten at each poll; nothing elsewhere."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.shown = False

    def __call__(self, line: str) -> None:
        if self.stream.isatty():
            self.stream.write(f"\r\x1b[K{PROG}: {line}")
            self.stream.flush()
            self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")


def _settings(args: argparse.Namespace, session: boto3.session.Session, read_timeout: float | None) -> connection.Settings:
    stack_name = args.stack_name or os.environ.get(STACK_NAME_VARIABLE)
    if not stack_name:
        raise CliError(f"no stack: pass --stack-name or set {STACK_NAME_VARIABLE}", EXIT_USAGE)
    region = args.api_region or args.region or session.region_name
    if not region:
        raise CliError("no region: pass --region or set AWS_REGION", EXIT_USAGE)
    settings = connection.Settings(
        stack_name=stack_name,
        region=region,
        assume_role=not args.no_assume_role,
        session_name=args.session_name,
        endpoint_url=args.endpoint_url,
        connect_timeout=args.connect_timeout,
        read_timeout=read_timeout or DEFAULT_READ_TIMEOUT,
        debug=args.debug,
    )
    connection.check_settings(settings)
    return settings


def _max_pages(args: argparse.Namespace, paginated: bool) -> int:
    return args.max_pages if paginated and not args.no_paginate else 1


def run_raw(args: argparse.Namespace, session: boto3.session.Session) -> int:
    """A raw request: METHOD PATH, --query-param, --body."""
    path = check_path(args.path)
    deprecated_query = [*args.query_before, *getattr(args, "query", [])]
    query = parse_query([*args.query_param_before, *getattr(args, "query_param", [])], "--query-param")
    query += parse_query(deprecated_query, "--query")
    body = read_body(args.body)
    legacy_timeout = args.timeout
    if legacy_timeout is not None and args.read_timeout is not None:
        raise CliError("--timeout is the older spelling of --read-timeout: pass only --read-timeout", EXIT_USAGE)
    settings = _settings(args, session, args.read_timeout or legacy_timeout)
    if deprecated_query:
        warn("--query KEY=VALUE is deprecated in raw requests: use --query-param KEY=VALUE (--query will become a JMESPath expression)")
    if legacy_timeout is not None:
        warn("--timeout is deprecated in raw requests: use --read-timeout (--timeout bounds --wait)")
    api = connection.connect(settings, session)
    paginate = args.method == "GET"
    answer = api.fetch(args.method, path, query, body, max_pages=_max_pages(args, paginate))
    return report(answer, f"{args.method} {args.path}", paginate=paginate and not args.no_paginate)


def _parameter_values(args: argparse.Namespace, operation: Operation) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for parameter in operation.parameters:
        value = getattr(args, _dest(parameter))
        values[parameter.name] = read_configuration(parameter, value) if parameter.kind == "file" and value else value
    return values


def run_operation(args: argparse.Namespace, operation: Operation, session: boto3.session.Session) -> int:
    """A command named like the official CLI's: its flags make the request; --wait follows it."""
    if args.body is not None or args.query_param_before:
        raise CliError(f"--body and --query-param are for raw requests; {operation.name} takes flags", EXIT_USAGE)
    values = _parameter_values(args, operation)
    expression = compile_query([*args.query_before, *([args.query] if "query" in args else [])])
    wait = getattr(args, "wait", False)
    timeout = args.timeout
    interval = getattr(args, "poll_interval", None)
    if not wait and (timeout is not None or interval is not None):
        raise CliError("--timeout and --poll-interval bound --wait: add --wait", EXIT_USAGE)
    settings = _settings(args, session, args.read_timeout)
    region = args.region or session.region_name
    if not region:
        raise CliError("no region: pass --region or set AWS_REGION", EXIT_USAGE)
    api = connection.connect(settings, session)
    request = operations.build_request(operation, values, region)
    answer = api.fetch(request.method, request.path, request.query, request.body, max_pages=_max_pages(args, operation.paginated))
    if not wait or not 200 <= answer.status < 300:
        return report(answer, operation.name, paginate=operation.paginated and not args.no_paginate, expression=expression)
    assert operation.wait is not None
    describe = operations.describe_request(operation, values, region)
    subject = values[operations.path_parameters(operation.wait.describe_path)[0]]
    progress = Progress(sys.stderr)
    try:
        outcome = waiter.wait_for(
            lambda: api.send(describe.method, request_target(describe.path, describe.query), None),
            operation.wait,
            subject,
            timeout=timeout or DEFAULT_WAIT_TIMEOUT,
            interval=interval or DEFAULT_POLL_INTERVAL,
            progress=progress,
        )
    finally:
        progress.close()
    if outcome.document is not None:
        print_json(expression.search(outcome.document) if expression is not None else outcome.document)
    if outcome.error is not None:
        raise CliError(f"{operation.name}: {outcome.error}", outcome.exit_code)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, session: boto3.session.Session | None = None) -> int:
    """Entry point of ``pcluster-api``; returns the exit code (see the module docstring).

    ``session`` replaces the default boto3 session (credentials, default Region), for callers
    embedding the command.
    """
    args = parse_args(argv)
    try:
        session = session or boto3.session.Session()
        operation = BY_NAME.get(args.command)
        return run_raw(args, session) if operation is None else run_operation(args, operation, session)
    except CliError as err:
        message, exit_code = str(err), err.exit_code
    except ClientError as err:
        error = err.response.get("Error", {})
        operation_name = err.operation_name
        message = f"{operation_name}: {error.get('Code', 'Unknown')}: {one_line(error.get('Message', str(err)))}"
        exit_code = EXIT_AWS_ERROR
    except BotoCoreError as err:
        message, exit_code = one_line(str(err)), EXIT_AWS_ERROR
    except KeyboardInterrupt:
        # What was sent stays sent: an operation a --wait followed goes on.
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return exit_code
