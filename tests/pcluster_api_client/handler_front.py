"""A local API Gateway in front of the real API handler: the client's signed requests become REST proxy events.

The local API of support.py checks each request's SigV4 signature as API Gateway's AWS_IAM
authorization does. A correctly signed request is matched to a resource of the spec (the paths
recorded in data/, as API Gateway routes by the spec it was given), made into the REST API proxy
event API Gateway sends (tests/lambda_image/events.py) and answered by the real handler, which
runs under moto in the test venv of tests/lambda_image (handler_process.py), in the account the
scenarios of tests/lambda_image/scenarios.py create clusters in.
"""

from __future__ import annotations

import base64
import json
import select
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.lambda_image import batches, events, invoke_handler, scenarios, venv
from tests.pcluster_api_client.official import recorded
from tests.pcluster_api_client.support import STAGE, FakeApi, Reply, serve_api

DRIVER = Path(__file__).with_name("handler_process.py")
# ParallelCluster synthesizes a cluster's templates through jsii and CDK v1: a creation takes seconds,
# the first one more (jsii starts and loads CDK v1).
ANSWER_TIMEOUT = 300
# API Gateway's answers when no resource and method of the API match the request, and when the
# Lambda proxy integration fails (the function raised).
NO_ROUTE = (403, {"message": "Missing Authentication Token"})
FUNCTION_ERROR = (502, {"message": "Internal server error"})


def account(version: str) -> dict[str, Any]:
    """The moto account of the scenarios (tests/lambda_image/batches.py), without their requests."""
    return {key: value for key, value in batches.moto_request(version).items() if key != "events"}


@dataclass
class HandlerProcess:
    """The handler process: one event at a time."""

    process: subprocess.Popen[str]
    log: Path
    lock: threading.Lock

    def read(self) -> Any:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], ANSWER_TIMEOUT)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            raise AssertionError(f"the handler process did not answer; its log ends:\n{self.log.read_text()[-4000:]}")
        return json.loads(line)

    def invoke(self, event: dict[str, Any]) -> Any:
        assert self.process.stdin is not None
        with self.lock:
            self.process.stdin.write(json.dumps(event) + "\n")
            self.process.stdin.flush()
            return self.read()


def match(method: str, path: str, version: str) -> tuple[str, dict[str, str]] | None:
    """(resource template, decoded path parameters) of the spec's operation for ``method`` and ``path``."""
    segments = path.split("/")
    operations = recorded(version)["operations"].values()
    # Literal resources before ones with parameters, as API Gateway prefers them.
    for template in sorted({op["path"] for op in operations if op["method"] == method}, key=lambda t: t.count("{")):
        parts = template.split("/")
        if len(parts) != len(segments):
            continue
        parameters = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{"):
                parameters[part[1:-1]] = unquote(segment)
            elif part != segment:
                break
        else:
            return template, parameters
    return None


def _reply(status: int, headers: dict[str, str], payload: bytes) -> Reply:
    headers = {name: value for name, value in headers.items() if name.lower() != "content-length"}
    return Reply(status, {**headers, "Content-Length": str(len(payload))}, [payload])


def gateway(process: HandlerProcess, version: str) -> Any:
    """The answer function of the local API: API Gateway's REST proxy integration with the handler."""

    def answer(api: FakeApi, method: str, path: str, query: dict[str, list[str]], body: bytes, key: str) -> Reply:
        resource_path = path.removeprefix(STAGE)
        matched = match(method, resource_path, version)
        if matched is None:
            return _reply(NO_ROUTE[0], {"Content-Type": "application/json"}, json.dumps(NO_ROUTE[1]).encode())
        resource, parameters = matched
        event = events.rest_event(
            method,
            resource_path,
            dict(query) or None,
            resource=resource,
            path_parameters=parameters or None,
            body=body.decode() if body else None,
        )
        result = process.invoke(event)
        if "response" not in result:
            return _reply(FUNCTION_ERROR[0], {"Content-Type": "application/json"}, json.dumps(FUNCTION_ERROR[1]).encode())
        response = result["response"]
        text = response.get("body") or ""
        payload = base64.b64decode(text) if response.get("isBase64Encoded") else text.encode()
        headers = {name: ", ".join(values) for name, values in (response.get("multiValueHeaders") or {}).items()}
        return _reply(response["statusCode"], headers or response.get("headers") or {}, payload)

    return answer


@dataclass
class HandlerFront:
    """The local API Gateway (``api.url``, ``api.seen``) and the values the account was seeded with."""

    api: FakeApi
    seeded: dict[str, Any]

    def configuration(self, name: str) -> str:
        """A configuration of tests/lambda_image/pcluster_configs/ for this account (its placeholders filled)."""
        text: str = invoke_handler._substitute(scenarios.configuration(name), self.seeded)
        return text


def _environment(venvs: venv.LambdaVenvs, tmp: str) -> dict[str, str]:
    """As batches.py runs the handler: the image's environment, nothing of the caller's AWS or Python
    settings, Node.js on PATH. Temporary files (jsii's runtime among them) go to ``tmp``, removed with it.
    """
    return batches.driver_environment({**venvs.image_environment(), "TMPDIR": tmp})


@contextmanager
def handler_process(venvs: venv.LambdaVenvs, request: dict[str, Any], tmp: str) -> Iterator[tuple[HandlerProcess, dict[str, Any]]]:
    """The handler of ``venvs``' version in the account of ``request`` (handler_process.py), until exit,
    and the values the account was seeded with. Its log and temporary files go to ``tmp``."""
    log = Path(tmp, f"handler-{venvs.version}.log")
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [str(venvs.test_python), str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            env=_environment(venvs, tmp),
            cwd=tmp,
        )
        handler = HandlerProcess(process, log, threading.Lock())
        try:
            assert process.stdin is not None
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            yield handler, handler.read()["seeded"]
        finally:
            # Nothing to keep of moto's account: no need to wait for an orderly exit (seconds).
            process.kill()
            process.wait()


@contextmanager
def serve(venvs: venv.LambdaVenvs) -> Iterator[HandlerFront]:
    """The handler of ``venvs``' version under moto behind a local API Gateway, until exit."""
    with (
        tempfile.TemporaryDirectory(prefix="handler-front-") as tmp,
        handler_process(venvs, account(venvs.version), tmp) as (handler, seeded),
        serve_api(answer=gateway(handler, venvs.version)) as api,
    ):
        yield HandlerFront(api, seeded)
