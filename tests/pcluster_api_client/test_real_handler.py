"""``pcluster-api`` end to end against the real API handler, under moto, behind a local API Gateway.

The client signs its requests for the local API Gateway (handler_front.py), which checks them and
hands the handler the REST proxy events API Gateway would; the handler runs the release's code in
the image's locked environment, in the account where tests/lambda_image creates its clusters.
moto's CloudFormation completes a stack at once, so a creation is complete at the first poll.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION
from pcluster_api_client import errors
from tests.lambda_image.events import REGION as HANDLER_REGION
from tests.pcluster_api_client.handler_front import HandlerFront
from tests.pcluster_api_client.support import REGION, STAGE, assert_one_line_error, full_stack, run

pytestmark = [pytest.mark.lambda_image, pytest.mark.xdist_group("real_handler")]


def call(real_handler: HandlerFront, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run a command against the handler: the API stack in REGION (moto, here), the clusters in the handler's.

    The first creation starts jsii and loads CDK v1 (about 13 s alone, more on a busy machine), so
    answers get longer than API Gateway's 29 s would allow.
    """
    return run(
        capsys, "--endpoint-url", real_handler.api.url, "--api-region", REGION, *argv,
        "--region", HANDLER_REGION, "--read-timeout", "120",
    )


def answered(real_handler: HandlerFront) -> list[tuple[str, str, int]]:
    """(method, path, status) of each request the handler answered."""
    return [(seen.method, seen.path.removeprefix(STAGE), seen.status) for seen in real_handler.api.seen]


@pytest.fixture
def configuration(aws: None, real_handler: HandlerFront, tmp_path: Path) -> Path:
    """c.yaml: the default cluster of tests/lambda_image for the handler's account; the API stack in moto."""
    full_stack()
    path = tmp_path / "c.yaml"
    path.write_text(real_handler.configuration("default-cluster"))
    real_handler.api.seen.clear()
    return path


def test_create_cluster_with_wait_ends_in_the_created_state(
    real_handler: HandlerFront, capsys: pytest.CaptureFixture[str], configuration: Path
) -> None:
    code, out, err = call(
        real_handler, capsys, "create-cluster", "--cluster-name", "waited", "--cluster-configuration", str(configuration),
        "--wait", "--poll-interval", "1",
    )

    assert (code, err) == (0, ""), out
    cluster = json.loads(out)
    assert (cluster["clusterName"], cluster["clusterStatus"]) == ("waited", "CREATE_COMPLETE")
    assert cluster["version"] == DEFAULT_PARALLELCLUSTER_VERSION and cluster["region"] == HANDLER_REGION
    # As the file says (ParallelCluster validated the file's configuration against the account to create it).
    assert cluster["scheduler"] == {"type": "slurm"}
    assert answered(real_handler) == [("POST", "/v3/clusters", 202), ("GET", "/v3/clusters/waited", 200)]

    code, out, err = call(real_handler, capsys, "list-clusters", "--query", "clusters[?clusterName=='waited'].clusterStatus")
    assert (code, err, json.loads(out)) == (0, "", ["CREATE_COMPLETE"])


def test_a_dry_run_shows_the_handlers_answer_as_pcluster_does(
    real_handler: HandlerFront, capsys: pytest.CaptureFixture[str], configuration: Path
) -> None:
    code, out, err = call(
        real_handler, capsys, "create-cluster", "-n", "dry", "-c", str(configuration), "--dryrun", "true", "--wait",
    )

    # The API refuses a dry run that would have succeeded with 412, whose answer pcluster prints.
    message = "Request would have succeeded, but DryRun flag is set."
    assert code == errors.EXIT_API_ERROR
    assert json.loads(out)["message"] == message
    assert_one_line_error(err, f"create-cluster: HTTP 412: {message}")


@pytest.mark.usefixtures("aws")
def test_the_handlers_errors_come_back_with_its_message(real_handler: HandlerFront, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = call(real_handler, capsys, "describe-image", "-i", "nosuchimage")

    assert code == errors.EXIT_API_ERROR
    assert_one_line_error(err, "describe-image: HTTP 404: No image or stack associated with ParallelCluster image id: nosuchimage.")
    assert json.loads(out) == {"message": "No image or stack associated with ParallelCluster image id: nosuchimage."}
