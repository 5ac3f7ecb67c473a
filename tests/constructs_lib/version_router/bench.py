"""The version router's warm overhead: its own time per request, the version function excluded.

    python -m tests.constructs_lib.version_router.bench      (ROUTER_BENCH_RUNS=200 by default)

The router (its inline code, as Lambda runs it) serves every served version against moto, in this
process: each kind of request is sent once to warm it (Lambda's execution environment keeps the
clients between invocations), then ROUTER_BENCH_RUNS times. The version functions answer at once
(support.VersionFunctions, before anything is sent), so each time is the router's: routing, its
reads (moto answers them in-process, where AWS adds a network round trip in-Region), serializing
the event, parsing the answer and serializing it again as the Lambda runtime does with what the
handler returns. Prints the median, 95th percentile and maximum per kind against the target
(100 ms); ``measure()`` returns the times for ``make bench``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

from moto import mock_aws

from constructs_lib.versions import SUPPORTED_PARALLELCLUSTER_VERSIONS
from tests.constructs_lib.version_router.support import (
    VersionFunctions,
    api_answer,
    cluster_stack,
    fake_aws_environment,
    image_ami_tags,
    image_stack,
    load_router,
    seed,
    tag_ami,
)
from tests.lambda_image.events import IN_REGION, cluster_event, image_event, rest_event

RUNS = int(os.environ.get("ROUTER_BENCH_RUNS", "200"))
TARGET_MS = 100.0
OLDEST = SUPPORTED_PARALLELCLUSTER_VERSIONS[0]


def requests() -> dict[str, dict[str, Any]]:
    """One request of each kind the router tells apart, by what it reads."""
    create = rest_event("POST", "/v3/clusters", IN_REGION, body={"clusterName": "new", "clusterConfiguration": "Region: us-east-1\n"})
    create["headers"]["X-ParallelCluster-Version"] = OLDEST
    return {
        "describe-cluster (1 read: DescribeStacks)": cluster_event("GET", "hpc", query=IN_REGION),
        "update-cluster (1 read: DescribeStacks)": cluster_event("PUT", "hpc", query=IN_REGION, body={"clusterConfiguration": "Region: us-east-1\n"}),
        "describe-image, building (2 reads at once)": image_event("GET", "building", query=IN_REGION),
        "describe-image, built (2 reads at once)": image_event("GET", "built", query=IN_REGION),
        "create-cluster with the header (no read)": create,
        "list-clusters (no read)": rest_event("GET", "/v3/clusters", IN_REGION),
        "list-images, a 5 MB answer (no read)": rest_event("GET", "/v3/images/custom", {**IN_REGION, "imageStatus": "AVAILABLE"}),
    }


# An answer close to the 6 MB a synchronous invocation may return, for the request that lists images.
LARGE_ANSWER = json.dumps({"statusCode": 200, "body": json.dumps({"images": [{"imageId": f"image-{n:07d}"} for n in range(150_000)]})}).encode()


def answer(version: str, event: dict[str, Any]) -> tuple[bytes, str | None]:
    return (LARGE_ANSWER, None) if event["path"] == "/v3/images/custom" else api_answer(version, event)


def measure(runs: int = RUNS) -> dict[str, list[float]]:
    """{kind of request: the router's time for each of ``runs`` warm requests, in milliseconds}."""
    with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ, fake_aws_environment(Path(tmp))), mock_aws():
        seed(cluster_stack("hpc", OLDEST), image_stack("building", OLDEST))
        tag_ami(image_ami_tags("built", OLDEST))
        router = load_router()
        VersionFunctions(router, answer)
        times: dict[str, list[float]] = {}
        for kind, event in requests().items():
            router.handler(event, None)  # warm
            times[kind] = []
            for _ in range(runs):
                started = time.perf_counter()
                json.dumps(router.handler(event, None))
                times[kind].append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    times = measure()
    width = max(len(kind) for kind in times)
    print(f"version router, warm, {RUNS} requests of each kind against moto (ms; target <= {TARGET_MS:.0f}):")
    for kind, values in times.items():
        p95 = statistics.quantiles(values, n=20)[-1]
        print(f"  {kind:<{width}}  median {statistics.median(values):6.2f}  p95 {p95:6.2f}  max {max(values):6.2f}")
    worst = max(statistics.quantiles(values, n=20)[-1] for values in times.values())
    print(f"worst p95: {worst:.2f} ms ({'within' if worst <= TARGET_MS else 'OVER'} the {TARGET_MS:.0f} ms target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
