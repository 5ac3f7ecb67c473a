"""The Lambda image's Python environment serves the ParallelCluster API.

The real handler (pcluster.api.awslambda.entrypoint.lambda_handler) answers real
API Gateway REST API proxy events in venvs built from the image's lock of the
app's default version, lambda_image/locks/<version>.txt (venv.py), in two batches,
each in one subprocess (batches.py): "moto", for requests that call AWS, and
"image", the image venv alone, offline. The clusters and images of the moto batch
(scenarios.py) are tested in test_scenarios.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from typing import Any

import pytest

from tests.lambda_image import batches, readonly, scenarios, venv
from tests.lambda_image.batches import SEEDED_CLUSTER
from tests.lambda_image.events import REGION

# Under `pytest -n N --dist loadgroup`, one worker runs all the tests of this
# folder, so the venvs are checked and the handler batches run only once.
pytestmark = [pytest.mark.lambda_image, pytest.mark.xdist_group("lambda_image")]


def response(runs, batch: str, name: str) -> tuple[int, dict[str, Any]]:
    results, logs = runs[batch]
    result = results[name]
    assert "response" in result, f"{name}: {result}\n{logs[-3000:]}"
    return result["response"]["statusCode"], json.loads(result["response"]["body"])


# ---------------------------------------------------------------- requests that reach AWS (moto)


def test_list_clusters_lists_the_seeded_cluster(runs, lambda_venvs):
    status, body = response(runs, "moto", "list_clusters")
    assert status == 200, body
    assert isinstance(body["clusters"], list)
    [cluster] = body["clusters"]
    assert cluster["clusterName"] == SEEDED_CLUSTER
    assert cluster["region"] == REGION
    assert cluster["version"] == lambda_venvs.version
    assert cluster["cloudformationStackStatus"] == "CREATE_COMPLETE"
    assert cluster["clusterStatus"] == "CREATE_COMPLETE"
    assert cluster["scheduler"] == {"type": "slurm"}
    assert cluster["cloudformationStackArn"].startswith(f"arn:aws:cloudformation:{REGION}:")


def test_list_clusters_defaults_to_the_function_region(runs):
    # No region parameter: the handler uses AWS_REGION, the function's own region.
    status, body = response(runs, "moto", "list_clusters_default_region")
    assert status == 200, body
    assert [c["clusterName"] for c in body["clusters"]] == [SEEDED_CLUSTER]


def test_list_clusters_honours_region_and_status_filter(runs):
    for name in ("list_clusters_other_region", "list_clusters_filtered_out"):
        status, body = response(runs, "moto", name)
        assert (status, body) == (200, {"clusters": []}), name


@pytest.mark.parametrize("name", ["describe_missing_cluster", "delete_missing_cluster", "missing_cluster_stack_events"])
def test_missing_cluster_is_404(runs, name):
    status, body = response(runs, "moto", name)
    assert status == 404, body
    assert body["message"].startswith("Cluster 'nosuchcluster' does not exist")


def test_list_images(runs, lambda_venvs):
    # No image built by ParallelCluster yet; the official AMI is found by its name, owned by Amazon.
    status, body = response(runs, "moto", "list_custom_images")
    assert (status, body) == (200, {"images": []})
    status, body = response(runs, "moto", "list_official_images")
    assert status == 200, body
    assert body["images"] == [{
        "amiId": scenarios.OFFICIAL_AMI_ID,
        "architecture": "x86_64",
        "name": f"aws-parallelcluster-{lambda_venvs.version}-amzn2023-hvm-x86_64-202601010000",
        "os": "alinux2023",
        "version": lambda_venvs.version,
    }]


def test_missing_image_is_404(runs):
    status, body = response(runs, "moto", "describe_missing_image")
    assert status == 404, body
    assert "nosuchimage" in body["message"]
    status, body = response(runs, "moto", "missing_image_log_streams")
    assert status == 404, body


def test_rest_proxy_response_shape(runs):
    results, _ = runs["moto"]
    answer = results["list_clusters"]["response"]
    assert answer["isBase64Encoded"] is False
    # The event has multiValueHeaders (as every REST API proxy event does), so the
    # answer carries its headers there, and only there; API Gateway accepts that.
    assert "headers" not in answer
    assert answer["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert json.loads(answer["body"])["clusters"]


# ---------------------------------------------------------------- the image venv alone


@pytest.mark.parametrize(
    "name, status, message",
    [
        ("invalid_region", 400, "Bad Request: invalid or unsupported region 'not-a-region'"),
        ("invalid_enum_query", 400, "Bad Request: 'NOT_A_STATUS' is not one of ["),
        ("missing_required_query", 400, "Bad Request: Missing query parameter 'imageStatus'"),
        ("malformed_body", 400, "Bad Request: Request body is not valid JSON"),
        ("body_missing_property", 400, "Bad Request: 'clusterConfiguration' is a required property"),
        ("unknown_path", 404, "The requested URL was not found on the server."),
        ("wrong_method", 405, "The method is not allowed for the requested URL."),
    ],
)
def test_image_environment_alone_answers(runs, name, status, message):
    got_status, body = response(runs, "image", name)
    assert got_status == status, body
    assert body["message"].startswith(message), body


def test_handler_refuses_to_start_without_node(runs):
    # Why the Dockerfile installs Node.js: ParallelCluster checks for it before serving anything.
    results, logs = runs["image"]
    assert results["no_node"]["exception"] == (
        "Exception: Unexpected fatal exception. Please look at API logs for details on the encountered failure."
    )
    assert "Unable to find node executable" in logs


def test_cdk_synthesizes_through_jsii_and_node(runs):
    # Creating a cluster or an image synthesizes a template with CDK v1 (jsii 1.85 driving
    # Node.js); the smallest synthesis proves that chain works in the image environment.
    results, logs = runs["image"]
    synth = results["cdk_synth"]
    assert synth["template"] == {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}, logs
    assert synth["node"].startswith("v")


def test_image_venv_has_no_test_only_packages(lambda_venvs):
    # The image venv must not borrow from moto: nothing that only moto needs is in it.
    check = subprocess.run(
        [str(lambda_venvs.image_python), "-c",
         "import importlib.util as u; print([m for m in ('moto', 'openapi_spec_validator', 'responses') if u.find_spec(m)])"],
        capture_output=True, text=True, check=True,
    )
    assert check.stdout.strip() == "[]"


def test_image_venv_is_consistent(lambda_venvs):
    # `pip check`, run once when the venv was built (it takes a second). The lock was installed
    # with --no-deps, as in the image, so this is what proves that it misses no dependency.
    assert lambda_venvs.pip_check == "No broken requirements found."


def test_image_python_is_supported_by_parallelcluster(lambda_venvs):
    minor = venv.image_python_minor()
    meta = subprocess.run(
        [str(lambda_venvs.image_python), "-c",
         "import importlib.metadata as m, json; d = m.metadata('aws-parallelcluster');"
         "print(json.dumps([d['Version'], d.get_all('Classifier'), d['Requires-Python']]))"],
        capture_output=True, text=True, check=True,
    )
    installed, classifiers, _ = json.loads(meta.stdout)
    assert installed == lambda_venvs.version
    assert f"Programming Language :: Python :: {minor}" in classifiers


def test_venv_python_is_the_image_python(lambda_venvs):
    if not lambda_venvs.python_matches_image:
        pytest.skip(f"no Python {venv.image_python_minor()} on this machine; the venvs use another one")
    out = subprocess.run(
        [str(lambda_venvs.image_python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == venv.image_python_minor()


# What the kernel of the image's jsii runtime does (lambda_image/jsii_runtime.py): while it runs,
# the package directory of its working directory (under TMPDIR) and where that directory leads.
KERNEL_PACKAGE = """
import glob, json, os, sys
import aws_cdk.core
[package] = glob.glob(os.path.join(os.environ["TMPDIR"], "jsii-kernel-*", "node_modules", "@aws-cdk", "core"))
print(json.dumps([os.path.islink(package), os.path.realpath(package)]))
"""


def test_image_kernel_links_the_packages_unpacked_at_build_time(lambda_venvs):
    # As the image runs: its environment, the filesystem read-only but /tmp.
    tmpdir = tempfile.mkdtemp(prefix="kernel-", dir=readonly.WRITABLE)
    try:
        proc = subprocess.run(
            readonly.read_only_command([str(lambda_venvs.image_python), "-c", KERNEL_PACKAGE]),
            capture_output=True, text=True, timeout=300,
            env=batches.driver_environment({**lambda_venvs.image_environment(), "TMPDIR": tmpdir}),
        )
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    linked, target = json.loads(proc.stdout.splitlines()[-1])
    # One link to the package unpacked in the image, instead of the tarball unpacked anew.
    assert linked
    assert target == str(lambda_venvs.image_files / "jsii" / "node_modules" / "@aws-cdk" / "core")
