"""The router in front of the real API handlers of the oldest and the newest served version, in one
account (end_to_end.py), with the older one as default: one endpoint serves the clusters of both.

Each test compares what the router answered with what one API of the default version answers
to the same request, where that differs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.constructs_lib.version_router import end_to_end
from tests.constructs_lib.version_router.end_to_end import (
    CLUSTER,
    DEFAULT,
    FUTURE,
    LEGACY,
    NEWER,
    NEWEST_UNSERVED,
    OLDER_UNSERVED,
)
from tests.lambda_image.events import REGION

pytestmark = [pytest.mark.lambda_image, pytest.mark.xdist_group("version_router")]
SERVED = f"{DEFAULT}, {NEWER}"


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return end_to_end.results()


def routed(results: dict[str, Any], name: str) -> tuple[int, dict[str, Any], list[str]]:
    """(status, body, versions invoked) of a request sent through the router."""
    result = results["routed"][name]
    assert "response" in result, f"{name}: {result}\n{json.dumps(results['logs'], indent=1)[-6000:]}"
    return result["response"]["statusCode"], json.loads(result["response"]["body"]), result["invoked"]


def direct(results: dict[str, Any], name: str) -> tuple[int, dict[str, Any]]:
    """(status, body) of a request sent to the default version's function alone."""
    result = results["direct"][name]
    assert "response" in result, f"{name}: {result}"
    return result["response"]["statusCode"], json.loads(result["response"]["body"])


def test_a_create_with_the_header_lands_on_that_version(results):
    status, body, invoked = routed(results, "create_with_header")

    assert (status, invoked) == (202, [NEWER]), body
    assert body["cluster"]["clusterName"] == CLUSTER
    assert body["cluster"]["version"] == NEWER


def test_a_cluster_newer_than_the_default_version_is_no_longer_refused(results):
    assert direct(results, "describe_created") == (
        400, {"message": f"Bad Request: Cluster '{CLUSTER}' belongs to an incompatible ParallelCluster major version."})

    status, body, invoked = routed(results, "describe_created")

    assert (status, invoked) == (200, [NEWER]), body
    assert (body["clusterName"], body["version"], body["region"]) == (CLUSTER, NEWER, REGION)
    assert body["clusterStatus"] == "CREATE_COMPLETE"


def test_update_goes_to_the_version_that_created_the_cluster_and_succeeds(results):
    # A dry run that would have succeeded: 412, with the change it would make.
    status, body = direct(results, "update_dryrun")
    assert (status, body["message"]) == (
        400, f"Bad Request: the update can be performed only with the same ParallelCluster version ({NEWER}) used to create the cluster.")

    status, body, invoked = routed(results, "update_dryrun")

    assert (status, invoked) == (412, [NEWER]), body
    assert body["message"] == "Request would have succeeded, but DryRun flag is set."
    assert body["changeSet"] == [{
        "parameter": "Scheduling.SlurmQueues[ondemand].ComputeResources[c5xlarge].MaxCount",
        "currentValue": "10", "requestedValue": "20",
    }]


def test_listing_and_unknown_clusters_go_to_the_default_version(results):
    # The default version lists the clusters of every version, and answers 404 for an unknown one.
    status, body, invoked = routed(results, "list_clusters")
    assert (status, invoked) == (200, [DEFAULT]), body
    assert {(cluster["clusterName"], cluster["version"]) for cluster in body["clusters"]} == {
        (CLUSTER, NEWER), (FUTURE, NEWEST_UNSERVED), (LEGACY, OLDER_UNSERVED)}

    status, body, invoked = routed(results, "describe_unknown")
    assert (status, invoked) == (404, [DEFAULT]), body
    assert body["message"].startswith("Cluster 'nosuchcluster' does not exist")


def test_a_cluster_of_a_version_that_is_not_served_gets_a_400_naming_it(results):
    status, body, invoked = routed(results, "describe_newer_than_served")
    assert (status, invoked) == (400, []), body
    assert body == {"message": (
        f"Bad Request: cluster '{FUTURE}' was created by ParallelCluster {NEWEST_UNSERVED}, which this API does not serve; "
        f"it serves {SERVED}, and none of them acts on a cluster of a newer version, nor of another major version.")}

    status, body, invoked = routed(results, "update_older_than_served")
    assert (status, invoked) == (400, []), body
    assert body == {"message": (
        f"Bad Request: cluster '{LEGACY}' was created by ParallelCluster {OLDER_UNSERVED}, which this API does not serve; "
        f"it serves {SERVED}, and update-cluster needs the version that created the cluster.")}


def test_a_create_naming_a_version_that_is_not_served_gets_a_400(results):
    status, body, invoked = routed(results, "create_with_unserved_header")

    assert (status, invoked) == (400, []), body
    assert body["message"].startswith("Bad Request: ParallelCluster version '3.15.1' (header X-ParallelCluster-Version) is not served")
