"""``--wait``: the describe operation polled until the operation ends, against the local SigV4-checking API.

The API's answers are scripted per request (FakeApi.script), in the shapes of the spec's describe
answers; polls are 0.05 s apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pcluster_api_client import errors, waiter
from tests.pcluster_api_client.support import REGION, FakeApi, assert_one_line_error, full_stack, run

FAST = ["--poll-interval", "0.05"]
CLUSTER = "/v3/clusters/hpc"
IMAGE = "/v3/images/custom/hpc-image"


def cluster(status: str, **more: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"clusterName": "hpc", "region": REGION, "clusterStatus": status, **more}


def image(status: str, **more: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"imageId": "hpc-image", "region": REGION, "imageBuildStatus": status, **more}


GONE = (404, {"message": "Cluster 'hpc' does not exist or belongs to an incompatible ParallelCluster major version."})


@pytest.fixture
def configuration(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text("Image:\n  Os: alinux2023\n")
    return path


def run_command(api: FakeApi, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    full_stack()
    return run(capsys, "--endpoint-url", api.url, *argv)


@pytest.mark.usefixtures("aws")
def test_create_waits_through_transient_errors_until_complete(
    api: FakeApi, capsys: pytest.CaptureFixture[str], configuration: Path
) -> None:
    api.script[("POST", "/v3/clusters")] = [(202, {"cluster": {"clusterName": "hpc", "clusterStatus": "CREATE_IN_PROGRESS"}})]
    final = cluster("CREATE_COMPLETE", version="3.16.1")
    api.script[("GET", CLUSTER)] = [
        cluster("CREATE_IN_PROGRESS"),
        (502, {"message": "Internal server error"}),
        (429, {"message": "Too Many Requests"}),
        cluster("CREATE_IN_PROGRESS"),
        final,
    ]

    code, out, err = run_command(api, capsys, "create-cluster", "-n", "hpc", "-c", str(configuration), "--wait", *FAST)

    assert (code, err) == (0, "")
    # Only the final state is printed, as pcluster prints it (JSON, indented by 2).
    assert out == json.dumps(final[1], indent=2) + "\n"
    assert api.requests() == [("POST", "/v3/clusters"), *[("GET", CLUSTER)] * 5]
    assert all(seen.query == {"region": [REGION]} and seen.status in (200, 202, 429, 502) for seen in api.seen)


@pytest.mark.usefixtures("aws")
def test_a_failed_create_exits_1_with_its_state_and_reasons(
    api: FakeApi, capsys: pytest.CaptureFixture[str], configuration: Path
) -> None:
    failures = [{"failureCode": "HeadNodeBootstrapFailure", "failureReason": "Cluster creation timed out."}]
    # ParallelCluster reports a stack rolling back after a failed creation as CREATE_FAILED.
    final = cluster("CREATE_FAILED", cloudFormationStackStatus="ROLLBACK_IN_PROGRESS", failures=failures)
    api.script[("GET", CLUSTER)] = [cluster("CREATE_IN_PROGRESS"), final]

    code, out, err = run_command(api, capsys, "create-cluster", "-n", "hpc", "-c", str(configuration), "--wait", *FAST)

    assert code == errors.EXIT_API_ERROR
    assert json.loads(out) == final[1]
    assert_one_line_error(err, "create-cluster: cluster 'hpc': CREATE_FAILED: Cluster creation timed out.")


@pytest.mark.usefixtures("aws")
def test_an_update_that_rolled_back_exits_1(api: FakeApi, capsys: pytest.CaptureFixture[str], configuration: Path) -> None:
    api.script[("GET", CLUSTER)] = [
        cluster("UPDATE_IN_PROGRESS"),
        cluster("UPDATE_IN_PROGRESS", cloudFormationStackStatus="UPDATE_ROLLBACK_IN_PROGRESS"),
        cluster("UPDATE_FAILED", cloudFormationStackStatus="UPDATE_ROLLBACK_COMPLETE"),
    ]

    code, out, err = run_command(api, capsys, "update-cluster", "-n", "hpc", "-c", str(configuration), "--wait", *FAST)

    assert code == errors.EXIT_API_ERROR
    assert json.loads(out)["clusterStatus"] == "UPDATE_FAILED"
    assert_one_line_error(err, "update-cluster: cluster 'hpc': UPDATE_FAILED")
    assert api.requests()[0] == ("PUT", CLUSTER)


@pytest.mark.usefixtures("aws")
def test_a_deletion_ends_when_the_cluster_is_gone(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.script[("GET", CLUSTER)] = [cluster("DELETE_IN_PROGRESS"), cluster("DELETE_IN_PROGRESS"), GONE]

    code, out, err = run_command(api, capsys, "delete-cluster", "-n", "hpc", "--wait", *FAST)

    assert (code, err) == (0, "")
    assert json.loads(out) == {"message": "Cluster 'hpc' was deleted."}
    assert api.requests() == [("DELETE", CLUSTER), *[("GET", CLUSTER)] * 3]


@pytest.mark.usefixtures("aws")
def test_a_failed_deletion_exits_1(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.script[("GET", CLUSTER)] = [cluster("DELETE_FAILED")]

    code, out, err = run_command(api, capsys, "delete-cluster", "-n", "hpc", "--wait", *FAST)

    assert code == errors.EXIT_API_ERROR
    assert_one_line_error(err, "delete-cluster: cluster 'hpc': DELETE_FAILED")


@pytest.mark.usefixtures("aws")
def test_a_cluster_that_vanishes_while_being_created_is_a_failure(
    api: FakeApi, capsys: pytest.CaptureFixture[str], configuration: Path
) -> None:
    api.script[("GET", CLUSTER)] = [cluster("CREATE_IN_PROGRESS"), GONE]

    code, out, err = run_command(api, capsys, "create-cluster", "-n", "hpc", "-c", str(configuration), "--wait", *FAST)

    assert code == errors.EXIT_API_ERROR
    assert_one_line_error(err, "create-cluster: cluster 'hpc': HTTP 404: Cluster 'hpc' does not exist")


@pytest.mark.usefixtures("aws")
def test_build_image_waits_and_the_query_applies_to_the_final_state(
    api: FakeApi, capsys: pytest.CaptureFixture[str], configuration: Path
) -> None:
    api.script[("GET", IMAGE)] = [image("BUILD_IN_PROGRESS"), image("BUILD_COMPLETE", ec2AmiInfo={"amiId": "ami-1"})]

    code, out, err = run_command(
        api, capsys, "build-image", "-i", "hpc-image", "-c", str(configuration), "--wait", *FAST, "--query", "ec2AmiInfo.amiId"
    )

    assert (code, err) == (0, "")
    assert json.loads(out) == "ami-1"
    assert api.requests() == [("POST", "/v3/images/custom"), ("GET", IMAGE), ("GET", IMAGE)]


@pytest.mark.usefixtures("aws")
def test_a_failed_build_gives_image_builders_reason(
    api: FakeApi, capsys: pytest.CaptureFixture[str], configuration: Path
) -> None:
    reason = "Image Builder: SSM Agent verification failed"
    api.script[("GET", IMAGE)] = [image("BUILD_FAILED", imagebuilderImageStatusReason=reason)]

    code, _, err = run_command(api, capsys, "build-image", "-i", "hpc-image", "-c", str(configuration), "--wait", *FAST)

    assert code == errors.EXIT_API_ERROR
    assert_one_line_error(err, f"build-image: image 'hpc-image': BUILD_FAILED: {reason}")


@pytest.mark.usefixtures("aws")
def test_delete_image_waits_until_it_is_gone(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.script[("GET", IMAGE)] = [image("DELETE_IN_PROGRESS"), (404, {"message": "No image or stack associated with ParallelCluster image id: hpc-image."})]

    code, out, err = run_command(api, capsys, "delete-image", "-i", "hpc-image", "--force", "true", "--wait", *FAST)

    assert (code, err) == (0, "")
    assert json.loads(out) == {"message": "Image 'hpc-image' was deleted."}
    assert api.seen[0].query == {"region": [REGION], "force": ["true"]}


@pytest.mark.usefixtures("aws")
def test_the_wait_is_bounded_by_timeout(api: FakeApi, capsys: pytest.CaptureFixture[str], configuration: Path) -> None:
    running = cluster("CREATE_IN_PROGRESS")
    api.script[("GET", CLUSTER)] = [running]

    code, out, err = run_command(
        api, capsys, "create-cluster", "-n", "hpc", "-c", str(configuration), "--wait", "--timeout", "0.3", *FAST
    )

    assert code == errors.EXIT_WAIT_TIMEOUT
    assert json.loads(out) == running[1]
    assert_one_line_error(err, "create-cluster: cluster 'hpc': not done after --timeout 0.3 s: CREATE_IN_PROGRESS")
    # Polled at once, then every 0.05 s, and once more at the deadline.
    assert 5 <= len(api.seen) - 1 <= 8


@pytest.mark.usefixtures("aws")
def test_an_error_that_says_nothing_of_the_state_ends_the_wait(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.script[("GET", CLUSTER)] = [cluster("DELETE_IN_PROGRESS"), (403, {"message": "Forbidden"})]

    code, out, err = run_command(api, capsys, "delete-cluster", "-n", "hpc", "--wait", *FAST)

    assert code == errors.EXIT_API_ERROR
    assert_one_line_error(err, "cluster 'hpc': describing it: HTTP 403: Forbidden")


@pytest.mark.usefixtures("aws")
def test_no_wait_when_the_operation_is_refused(api: FakeApi, capsys: pytest.CaptureFixture[str], configuration: Path) -> None:
    refusal = {"message": "Request would have succeeded, but DryRun flag is set."}
    api.script[("POST", "/v3/clusters")] = [(412, refusal)]

    code, out, err = run_command(
        api, capsys, "create-cluster", "-n", "hpc", "-c", str(configuration), "--dryrun", "true", "--wait", *FAST
    )

    assert code == errors.EXIT_API_ERROR
    assert json.loads(out) == refusal
    assert_one_line_error(err, "create-cluster: HTTP 412: Request would have succeeded, but DryRun flag is set.")
    assert api.requests() == [("POST", "/v3/clusters")]


@pytest.mark.usefixtures("aws")
def test_progress_is_shown_on_a_terminal(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    api.script[("GET", CLUSTER)] = [cluster("DELETE_IN_PROGRESS"), (503, {"message": "Service Unavailable"}), GONE]

    code, out, err = run_command(api, capsys, "delete-cluster", "-n", "hpc", "--wait", *FAST)

    assert code == 0
    lines = err.split("\r\x1b[K")
    assert lines[0] == "" and err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert lines[1].startswith("pcluster-api: cluster 'hpc': DELETE_IN_PROGRESS (0 s)")
    assert lines[2].startswith("pcluster-api: cluster 'hpc': HTTP 503; asking again (0 s)")
    assert json.loads(out) == {"message": "Cluster 'hpc' was deleted."}


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("flag", [["--timeout", "60"], ["--poll-interval", "5"]])
def test_wait_bounds_need_wait(api: FakeApi, capsys: pytest.CaptureFixture[str], flag: list[str]) -> None:
    code, out, err = run_command(api, capsys, "delete-cluster", "-n", "hpc", *flag)

    assert (code, out) == (errors.EXIT_USAGE, "")
    assert_one_line_error(err, "--timeout and --poll-interval bound --wait: add --wait")
    assert api.seen == []


@pytest.mark.usefixtures("aws")
def test_an_interrupted_wait_says_so_without_a_traceback(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api.script[("GET", CLUSTER)] = [cluster("DELETE_IN_PROGRESS")]

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(waiter.time, "sleep", interrupt)

    code, out, err = run_command(api, capsys, "delete-cluster", "-n", "hpc", "--wait", *FAST)

    assert (code, out, err) == (errors.EXIT_INTERRUPTED, "", "pcluster-api: interrupted\n")
    assert api.requests() == [("DELETE", CLUSTER), ("GET", CLUSTER)]
