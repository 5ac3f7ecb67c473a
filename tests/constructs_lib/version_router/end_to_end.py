"""The router in front of the real API handlers of two served versions, all in one account.

* The account: a moto server on loopback (moto_server.py), seeded with the account of
  tests/lambda_image/scenarios.py, plus clusters of versions this router does not serve.
* The version functions: the real handler of each version in its locked environment
  (tests/lambda_image/venv.py), each in its own process (tests/pcluster_api_client/handler_process.py)
  whose AWS calls all go to the moto server, with the scenarios' stubs and stand-in stacks.
* Lambda: a local endpoint that answers Invoke as Lambda does (the function's result as the
  payload, ``X-Amz-Function-Error`` when it raised) from the process of the function named.
* The router: its inline code in this process, its clients pointed at the moto server and at that
  endpoint (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_LAMBDA``), serving the oldest and the newest
  served version with the older one as default.

The requests run once (a minute or so: ParallelCluster's first cluster synthesis starts jsii and
CDK v1) and their results are kept in .cache/ under a key that hashes everything that goes into
them, as tests/lambda_image/batches.py keeps its handler batches.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import unquote

from constructs_lib.versions import SUPPORTED_PARALLELCLUSTER_VERSIONS, release
from tests.constructs_lib.version_router import moto_server as moto_server_module
from tests.constructs_lib.version_router import support
from tests.constructs_lib.version_router.support import ROUTER_SOURCE, cluster_stack, function_arn, load_router
from tests.lambda_image import invoke_handler, scenarios, venv
from tests.lambda_image.events import IN_REGION, cluster_event, rest_event
from tests.pcluster_api_client import handler_front
from tests.pcluster_api_client.handler_front import HandlerProcess

DEFAULT, NEWER = SUPPORTED_PARALLELCLUSTER_VERSIONS[0], SUPPORTED_PARALLELCLUSTER_VERSIONS[-1]
SERVED = {version: function_arn(version) for version in (DEFAULT, NEWER)}
# Clusters of versions this router does not serve: a newer one, and one no served version updates.
NEWEST_UNSERVED, OLDER_UNSERVED = "3.17.0", "3.13.1"
FUTURE, LEGACY = "future", "legacy"
CLUSTER = scenarios.FULL  # the cluster whose head node the scenarios' account has (update-cluster reads it)
HEADER = "X-ParallelCluster-Version"
RESULTS_CACHE = venv.ROOT / ".cache"
ROOT = Path(__file__).resolve().parents[3]


def _create(version: str) -> dict[str, Any]:
    event = rest_event("POST", "/v3/clusters", IN_REGION, body={
        "clusterName": CLUSTER, "clusterConfiguration": scenarios.configuration("full-cluster")})
    event["headers"][HEADER] = version
    event["multiValueHeaders"][HEADER] = [version]
    return event


def _own_ids(events: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``events``, each with a request id of its own, as API Gateway gives every request (the fake
    Lambda tells by it which function each one reached)."""
    for name, event in events.items():
        event["requestContext"] = {**event["requestContext"], "requestId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"router {name}"))}
    return events


DESCRIBE = cluster_event("GET", CLUSTER, query=IN_REGION)
UPDATE_DRYRUN = cluster_event(
    "PUT", CLUSTER, query={**IN_REGION, "dryrun": "true"}, body={"clusterConfiguration": scenarios.updated_full_cluster()})
# Through the router, in order (the first two at once). "{{Name}}": the account's seeded values.
ROUTED = _own_ids({
    "create_with_header": _create(NEWER),
    "describe_unknown": cluster_event("GET", "nosuchcluster", query=IN_REGION),
    "describe_created": DESCRIBE,
    "update_dryrun": UPDATE_DRYRUN,
    "list_clusters": rest_event("GET", "/v3/clusters", IN_REGION),
    "describe_newer_than_served": cluster_event("GET", FUTURE, query=IN_REGION),
    "update_older_than_served": cluster_event(
        "PUT", LEGACY, query={**IN_REGION, "dryrun": "true"}, body={"clusterConfiguration": scenarios.configuration("default-cluster")}),
    "create_with_unserved_header": _create(SUPPORTED_PARALLELCLUSTER_VERSIONS[1]),
})
# Straight to the default version's function: what one API of that version would answer.
DIRECT = {"describe_created": DESCRIBE, "update_dryrun": UPDATE_DRYRUN}


def moto_account() -> dict[str, Any]:
    """The moto server's account: the scenarios' (with the newer version's official AMI, which its
    create-cluster looks up by name) and the clusters of versions not served."""
    return {
        "amis": scenarios.amis(NEWER),
        "values": scenarios.VALUES,
        "seed": [*scenarios.SEED, cluster_stack(FUTURE, NEWEST_UNSERVED), cluster_stack(LEGACY, OLDER_UNSERVED)],
    }


def handler_account(version: str, endpoint: str, seeded: dict[str, Any]) -> dict[str, Any]:
    """A handler's account: the moto server's, with the scenarios' stubs and stand-in stacks."""
    return {
        "moto_endpoint": endpoint,
        "values": seeded,
        "record_calls": True,
        "stand_in_stacks": True,
        "stubs": scenarios.stubs(release(version)),
        "stand_in_outputs": scenarios.stand_in_outputs(release(version)),
    }


@contextmanager
def moto_server(tmp: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The moto server (moto_server.py) until exit: its endpoint and the values its seed saved."""
    with moto_server_module.started(moto_account(), tmp) as (_, endpoint, seeded):
        yield endpoint, seeded


class FakeLambda:
    """Lambda's Invoke (POST /2015-03-31/functions/<name>/invocations) answered by the handler
    processes, on loopback; records the version each request id was sent to."""

    def __init__(self, processes: dict[str, HandlerProcess]) -> None:
        self.invoked: dict[str, list[str]] = {}
        versions = {function: version for version, function in SERVED.items()}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                version = versions[unquote(self.path.split("/")[3])]
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.invoked.setdefault(event["requestContext"]["requestId"], []).append(version)
                result = processes[version].invoke(event)
                headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST"}
                if "response" in result:
                    payload = json.dumps(result["response"]).encode()
                else:  # the handler raised: Lambda's error payload, and the header that says so
                    error_type, _, message = result["exception"].partition(": ")
                    payload = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
                    headers["X-Amz-Function-Error"] = "Unhandled"
                self.send_response(200)
                for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @contextmanager
    def serving(self) -> Iterator[FakeLambda]:
        thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(timeout=5)


def _result(call: Any) -> dict[str, Any]:
    start = time.monotonic()
    try:
        result = {"response": call()}
    except Exception as error:  # the router or the handler failed; the test says what it expected
        result = {"exception": f"{type(error).__name__}: {error}"}
    return {**result, "seconds": round(time.monotonic() - start, 2)}


def run() -> dict[str, Any]:
    """Start everything, send the requests, and return what each got (see results())."""
    venvs = {version: venv.ensure_venvs(version) for version in SERVED}
    with tempfile.TemporaryDirectory(prefix="version-router-") as tmp, ExitStack() as stack:
        endpoint, seeded = stack.enter_context(moto_server(tmp))
        processes = {
            version: stack.enter_context(handler_front.handler_process(venvs[version], handler_account(version, endpoint, seeded), tmp))[0]
            for version in SERVED
        }
        fake_lambda = stack.enter_context(FakeLambda(processes).serving())
        endpoints = {"AWS_ENDPOINT_URL": endpoint, "AWS_ENDPOINT_URL_LAMBDA": fake_lambda.url}
        router = load_router(SERVED, DEFAULT, **endpoints)
        routed = invoke_handler._substitute(ROUTED, seeded)
        results: dict[str, Any] = {"routed": {}, "direct": {}}
        # The default version's handler starts (imports ParallelCluster, builds its app) while the newer one creates.
        with mock.patch.dict(os.environ, endpoints), ThreadPoolExecutor(2) as pool:
            first = {name: pool.submit(_result, lambda event=routed[name]: router.handler(event, None)) for name in list(routed)[:2]}
            results["routed"].update({name: future.result() for name, future in first.items()})
            for name in list(routed)[2:]:
                results["routed"][name] = _result(lambda event=routed[name]: router.handler(event, None))
        for name, event in invoke_handler._substitute(DIRECT, seeded).items():
            results["direct"][name] = processes[DEFAULT].invoke(event)
        for name, event in routed.items():
            results["routed"][name]["invoked"] = fake_lambda.invoked.get(event["requestContext"]["requestId"], [])
        results["logs"] = {path.name: path.read_text()[-6000:] for path in Path(tmp).glob("*.log")}
    return results


def results() -> dict[str, Any]:
    """{"routed": {name: {"response" or "exception", "invoked": [versions], "seconds"}}, "direct": {name:
    the default version's handler's result}, "logs": {log: its end}}, from .cache/ when nothing that
    goes into them changed."""
    inputs = [
        ROUTER_SOURCE.read_text(),
        *(Path(module.__file__ or "").read_text() for module in (sys.modules[__name__], support, invoke_handler, handler_front)),
        handler_front.DRIVER.read_text(),
        (ROOT / "tests/constructs_lib/version_router/moto_server.py").read_text(),
        json.dumps([ROUTED, DIRECT, moto_account(), [handler_account(v, "", {}) for v in SERVED]], sort_keys=True),
        *(venv.ensure_venvs(version).root.name for version in SERVED),
    ]
    key = hashlib.sha256("\0".join(inputs).encode()).hexdigest()[:16]
    RESULTS_CACHE.mkdir(exist_ok=True)
    cached = RESULTS_CACHE / f"version-router-{key}.json"
    with open(RESULTS_CACHE / "version-router.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cached.exists():
            partial = cached.with_suffix(".partial")
            partial.write_text(json.dumps(run()))
            partial.replace(cached)
            for stale in RESULTS_CACHE.glob("version-router-*.json"):
                if stale != cached:
                    stale.unlink(missing_ok=True)
        stored: dict[str, Any] = json.loads(cached.read_text())
    return stored
