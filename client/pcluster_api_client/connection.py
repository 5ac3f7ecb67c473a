"""The way to a deployed API: its stack's outputs, the credentials to sign with, and signed requests.

:func:`connect` reads the stack outputs ``ParallelClusterApiInvokeUrl`` and
``ParallelClusterApiUserRole`` (CloudFormation DescribeStacks), checks that the URL is the stack's
API endpoint or custom domain (:mod:`pcluster_api_client.endpoint`) and assumes the user role in a
session named after the caller (:mod:`pcluster_api_client.identity`). The :class:`Connection` it
returns signs each request with SigV4 for ``execute-api`` and sends it
(:mod:`pcluster_api_client.transport`), page by page for list answers
(:mod:`pcluster_api_client.pages`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from pcluster_api_client import endpoint, identity, outputs, pages
from pcluster_api_client.errors import EXIT_AWS_ERROR, EXIT_USAGE, CliError
from pcluster_api_client.operations import request_target
from pcluster_api_client.transport import Transport, sign_request

PROG = "pcluster-api"


@dataclass(frozen=True)
class Settings:
    """What the command line says about reaching the API."""

    stack_name: str
    #: Region of the API's stack, where requests are signed for.
    region: str
    assume_role: bool
    session_name: str | None
    #: A base URL that replaces the stack's invoke URL (tests, private DNS).
    endpoint_url: str | None
    connect_timeout: float
    read_timeout: float
    debug: bool = False


def check_settings(settings: Settings) -> None:
    """Refuse the settings that cannot work, before anything is sent (raises CliError with EXIT_USAGE)."""
    if settings.endpoint_url is not None:
        try:
            endpoint.check_base_url(settings.endpoint_url, allow_loopback_http=True)
        except ValueError as err:
            raise CliError(f"--endpoint-url: {err}", EXIT_USAGE) from err
    if settings.session_name is None:
        return
    if not settings.assume_role:
        raise CliError("--session-name names a session of the user role: drop --no-assume-role", EXIT_USAGE)
    if not identity.SESSION_NAME.fullmatch(settings.session_name):
        raise CliError(f"--session-name {settings.session_name!r}: expected {identity.SESSION_NAME_FORM}", EXIT_USAGE)


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


def _invoke_url(stack: Mapping[str, Any], cloudformation: Any, region: str) -> str:
    url = stack_output(stack, outputs.INVOKE_URL)
    try:
        return endpoint.check_invoke_url(
            url, region=region, stack_domains=lambda: endpoint.custom_domains(cloudformation, stack["StackId"])
        )
    except ValueError as err:
        raise CliError(f"output {outputs.INVOKE_URL} of stack {stack['StackName']!r}: {err}", EXIT_AWS_ERROR) from err


def _credentials(settings: Settings, session: boto3.session.Session, stack: Mapping[str, Any]) -> Credentials:
    if not settings.assume_role:
        return identity.caller_credentials(session)
    hint = " (deployed with CreateApiUserRole=false? use --no-assume-role)"
    role_arn = stack_output(stack, outputs.USER_ROLE, hint)
    sts = session.client("sts", region_name=settings.region)
    session_name = settings.session_name or identity.caller_session_name(sts)
    return identity.assume_role(sts, role_arn, session_name)


@dataclass
class Connection:
    """Signed requests to one API."""

    base_url: str
    region: str
    credentials: Credentials
    transport: Transport
    debug: bool = False

    def send(self, method: str, target: str, body: bytes | None) -> tuple[int, bytes]:
        """Sign and send one request to ``target`` (URL-encoded path and query); return (status, body)."""
        url = self.base_url + target
        # Frozen per request: refreshable credentials renew themselves before they expire.
        request = sign_request(self.credentials.get_frozen_credentials(), self.region, method, url, body)
        start = time.monotonic()
        status, payload = self.transport.send(request)
        if self.debug:
            print(f"{PROG}: debug: {method} {url}: HTTP {status} in {time.monotonic() - start:.2f} s", file=sys.stderr)
        return status, payload

    def fetch(self, method: str, path: str, query: pages.Query, body: bytes | None, *, max_pages: int) -> pages.Answer:
        """The answer to a request, its pages followed up to ``max_pages`` (``path`` URL-encoded)."""
        return pages.get_pages(
            lambda page_query: self.send(method, request_target(path, page_query), body), query, max_pages=max_pages
        )


def connect(settings: Settings, session: boto3.session.Session) -> Connection:
    """A connection to the API of the stack ``settings.stack_name``; raises CliError or botocore errors."""
    cloudformation = session.client("cloudformation", region_name=settings.region)
    stack = describe_stack(cloudformation, settings.stack_name)
    base_url = settings.endpoint_url or _invoke_url(stack, cloudformation, settings.region)
    credentials = _credentials(settings, session, stack)
    transport = Transport(connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout)
    return Connection(base_url.rstrip("/"), settings.region, credentials, transport, settings.debug)
