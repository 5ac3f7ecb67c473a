"""`make bench`: the API's latency, operation by operation, in the image and in a plain install.

For each served version it runs the real handler in that version's locked environment (the venvs
the handler tests build, tests/lambda_image/venv.py), in two ways side by side:
- "image": as the Dockerfile arranges it (its build steps and ENV, venv.py);
- "plain": the same packages as pip installs them, nothing arranged: what AWS's layer amounts to.
Both run on a filesystem read-only but /tmp, as on Lambda (readonly.py).

Each run of an operation is a fresh process (tests/lambda_image/bench_handler.py): its first call
is cold (importing the handler, then the call), the next ones warm. The AWS calls go to one moto
server per version (tests/constructs_lib/version_router/moto_server.py), seeded with the handler tests' account (scenarios.py) and a cluster and an
image created through the handler, so that a cold process finds the account as a new Lambda
execution environment does. CPU time is the handler's process and its Node.js children; moto's own
share (the server's CPU time, with the tests' stubs and stand-in stacks) is reported apart. Runs of
the two environments alternate, so that the load of this shared machine falls on both alike.

The last line compares cold create-cluster in the default version, median CPU seconds of the runs.
BENCH_RUNS (default 3) sets the runs per operation and environment, BENCH_WARM (default 3) the warm
calls after each cold one, BENCH_VERSIONS (comma-separated) the versions.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION, SUPPORTED_PARALLELCLUSTER_VERSIONS, release
from tests.constructs_lib.version_router import moto_server as moto_server_module
from tests.lambda_image import batches, invoke_handler, readonly, scenarios, venv
from tests.lambda_image.events import IN_REGION, cluster_event, image_event, rest_event

DRIVER = Path(__file__).resolve().parents[1] / "tests" / "lambda_image" / "bench_handler.py"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WARM = int(os.environ.get("BENCH_WARM", "3"))
# Lambda: "At 1,769 MB, a function has the equivalent of one vCPU (one vCPU-second of credits per
# second)" (Lambda Developer Guide, "Configure Lambda function memory"); the function has 2,048 MB.
FUNCTION_MEMORY_MB = 2048
VCPUS = FUNCTION_MEMORY_MB / 1769
# API Gateway's integration timeout for REST APIs (API Gateway quotas): it answers 504 after it.
API_GATEWAY_TIMEOUT = 29.0
ENVIRONMENTS = ("image", "plain")
CLUSTER, IMAGE = "full", "hpc-image"  # created through the handler before the runs


def _create_cluster(name: str, *, dryrun: bool) -> dict[str, Any]:
    query = {**IN_REGION, **({"dryrun": "true"} if dryrun else {})}
    body = {"clusterName": name, "clusterConfiguration": scenarios.configuration("full-cluster")}
    return rest_event("POST", "/v3/clusters", query, body=body)


def _build_image(image_id: str, *, dryrun: bool) -> dict[str, Any]:
    query = {**IN_REGION, **({"dryrun": "true"} if dryrun else {})}
    body = {"imageId": image_id, "imageConfiguration": scenarios.configuration("build-image")}
    return rest_event("POST", "/v3/images/custom", query, body=body)


# Operation -> (the status it answers, its event for a call of a given unique name). Creations
# make a new cluster or image each call; the rest read what the setup created.
OPERATIONS: dict[str, tuple[int, Callable[[str], dict[str, Any]]]] = {
    "list-clusters": (200, lambda _: rest_event("GET", "/v3/clusters", IN_REGION)),
    "describe-cluster": (200, lambda _: cluster_event("GET", CLUSTER, query=IN_REGION)),
    "create-cluster dry run": (412, lambda name: _create_cluster(name, dryrun=True)),
    "create-cluster": (202, lambda name: _create_cluster(name, dryrun=False)),
    "update-cluster dry run": (412, lambda _: cluster_event(
        "PUT", CLUSTER, query={**IN_REGION, "dryrun": "true"}, body={"clusterConfiguration": scenarios.updated_full_cluster()})),
    "build-image dry run": (412, lambda name: _build_image(name, dryrun=True)),
    "build-image": (202, lambda name: _build_image(name, dryrun=False)),
    "describe-image": (200, lambda _: image_event("GET", IMAGE, query=IN_REGION)),
}


@dataclass
class Samples:
    """The calls of one operation in one environment: cold (first of a process) and warm."""

    cold: list[dict[str, float]] = field(default_factory=list)
    warm: list[dict[str, float]] = field(default_factory=list)

    @staticmethod
    def median(calls: list[dict[str, float]], key: str) -> float:
        return statistics.median(call[key] for call in calls)


@dataclass
class MotoServer:
    """A moto server holding the handler tests' account (what its process and seed calls give)."""

    process: subprocess.Popen[str]
    endpoint: str
    saved: dict[str, Any]
    stubs: list[dict[str, Any]]
    stand_in_outputs: dict[str, dict[str, str]]


@contextmanager
def moto_server(version: str) -> Iterator[MotoServer]:
    served = release(version)
    account = {"amis": scenarios.amis(version), "values": scenarios.VALUES,
               "seed": [*batches.seed(version), *scenarios.seed(served)]}
    with tempfile.TemporaryDirectory(prefix="moto-bench-") as tmp, moto_server_module.started(account, tmp) as (process, endpoint, saved):
        yield MotoServer(
            process, endpoint, saved,
            stubs=invoke_handler._substitute(scenarios.stubs(served), saved),
            stand_in_outputs=invoke_handler._substitute(scenarios.stand_in_outputs(served), saved),
        )


def run_process(venvs: venv.LambdaVenvs, environment: str, server: MotoServer, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One fresh handler process in ``environment``: the results of its calls, in order."""
    with tempfile.TemporaryDirectory(prefix="handler-bench-", dir=readonly.WRITABLE) as tmp:
        workdir = Path(tmp)
        request = {
            "endpoint": server.endpoint, "moto_pid": server.process.pid, "stubs": server.stubs,
            "stand_in_outputs": server.stand_in_outputs,
            "events": invoke_handler._substitute(events, server.saved),
        }
        (workdir / "request.json").write_text(json.dumps(request))
        env = batches.driver_environment(venvs.image_environment() if environment == "image" else None)
        proc = subprocess.run(
            readonly.read_only_command([str(venvs.image_python), str(DRIVER), str(workdir / "request.json"), str(workdir / "results.json")]),
            capture_output=True, text=True, env=env, cwd=workdir, timeout=900,
        )
        if proc.returncode:
            raise RuntimeError(f"the {environment} handler process failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        results: list[dict[str, Any]] = json.loads((workdir / "results.json").read_text())
        return results


def _expect(results: list[dict[str, Any]], status: int, what: str) -> None:
    wrong = [f"{result['status']}: {result['message']}" for result in results if result["status"] != status]
    if wrong:
        raise RuntimeError(f"{what}: expected status {status}, got " + "; ".join(wrong))


def bench_version(venvs: venv.LambdaVenvs) -> dict[tuple[str, str], Samples]:
    samples = {(operation, environment): Samples() for operation in OPERATIONS for environment in ENVIRONMENTS}
    with moto_server(venvs.version) as server:
        # What the reading operations read: a cluster and an image, created through the handler.
        setup = [_create_cluster(CLUSTER, dryrun=False), _build_image(IMAGE, dryrun=False)]
        _expect(run_process(venvs, "image", server, setup), 202, f"{venvs.version} setup")
        for number, (operation, (status, event)) in enumerate(OPERATIONS.items()):
            for run in range(RUNS):
                # Alternating which environment goes first, as well as the environments.
                for environment in ENVIRONMENTS if run % 2 == 0 else ENVIRONMENTS[::-1]:
                    # Clusters and images are stacks: each name once.
                    names = [f"bench-{number}-{environment}-{run}-{call}" for call in range(1 + WARM)]
                    results = run_process(venvs, environment, server, [event(name) for name in names])
                    _expect(results, status, f"{venvs.version} {operation} ({environment})")
                    samples[operation, environment].cold.append(results[0])
                    samples[operation, environment].warm.extend(results[1:])
            print(f"  {venvs.version} {operation}: done", file=sys.stderr, flush=True)
    return samples


def table(version: str, samples: dict[tuple[str, str], Samples]) -> list[str]:
    lines = [
        f"ParallelCluster {version}: medians of {RUNS} cold calls (fresh process: import and first call) and "
        f"{RUNS * WARM} warm calls, seconds; CPU without moto's share, moto's CPU apart",
        f"{'operation':<24}{'env':<7}{'cold cpu':>9}{'wall':>7}{'moto':>7}{'warm cpu':>10}{'wall':>7}{'moto':>7}"
        f"{'Lambda cold':>13}{'headroom':>10}",
    ]
    for (operation, environment), calls in samples.items():
        cold_cpu = calls.median(calls.cold, "cpu")
        # At the function's CPU share a call takes at least its CPU time divided by the vCPUs it has.
        lambda_cold = cold_cpu / VCPUS
        lines.append(
            f"{operation:<24}{environment:<7}{cold_cpu:>9.2f}{calls.median(calls.cold, 'wall'):>7.2f}"
            f"{calls.median(calls.cold, 'moto_cpu'):>7.2f}{calls.median(calls.warm, 'cpu'):>10.2f}"
            f"{calls.median(calls.warm, 'wall'):>7.2f}{calls.median(calls.warm, 'moto_cpu'):>7.2f}"
            f"{lambda_cold:>13.2f}{API_GATEWAY_TIMEOUT - lambda_cold:>10.2f}"
        )
    return lines


def main() -> int:
    versions = [v for v in os.environ.get("BENCH_VERSIONS", ",".join(SUPPORTED_PARALLELCLUSTER_VERSIONS)).split(",") if v]
    unknown = sorted(set(versions) - set(SUPPORTED_PARALLELCLUSTER_VERSIONS))
    if unknown:
        print(f"error: BENCH_VERSIONS: {', '.join(unknown)} not served; expected some of "
              f"{', '.join(SUPPORTED_PARALLELCLUSTER_VERSIONS)}, comma-separated", file=sys.stderr)
        return 2
    try:
        readonly.check()
        built = venv.ensure_all_venvs()
        results = {version: bench_version(built[version]) for version in versions}
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Lambda cold: cold CPU / {VCPUS:.2f} vCPUs ({FUNCTION_MEMORY_MB} MB); headroom: {API_GATEWAY_TIMEOUT:.0f} s "
          "(API Gateway's timeout) minus it, before the AWS APIs' own latency")
    for version, samples in results.items():
        print("\n".join(["", *table(version, samples)]))
    ratio_version = DEFAULT_PARALLELCLUSTER_VERSION if DEFAULT_PARALLELCLUSTER_VERSION in results else versions[-1]
    create = results[ratio_version]
    image = Samples.median(create["create-cluster", "image"].cold, "cpu")
    plain = Samples.median(create["create-cluster", "plain"].cold, "cpu")
    print(f"\ncold create-cluster: image {image:.2f} s, plain {plain:.2f} s, ratio {image / plain:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
