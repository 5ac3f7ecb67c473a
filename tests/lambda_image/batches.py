"""The two batches of requests the real handler answers, each in one subprocess (invoke_handler.py).

Both run as the image runs: with the Dockerfile's environment (venv.py) and the filesystem read-only
but /tmp (readonly.py).

* "moto": the test venv under moto's mock_aws, for requests that call AWS: first requests against
  a stack that only looks like a cluster, then the scenarios of scenarios.py (create, describe,
  update and delete clusters, build and describe images), with every AWS call the handler makes
  recorded. It takes a minute or two (ParallelCluster synthesizes each cluster and image with CDK),
  so its results are kept in .cache/, under a key that hashes everything that goes into it (the
  venvs, the driver, the request); pytest-xdist workers and later sessions read them there.
* "image": the image venv alone, offline, for requests answered before any AWS call, so the whole
  request path is proven without any of moto's packages; first of all one request with no Node.js
  on PATH, which the handler refuses, and last a CDK v1 synthesis through jsii and Node.js, as
  create-cluster does. Seconds; run every session.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from constructs_lib.versions import release
from tests.lambda_image import readonly, scenarios, venv
from tests.lambda_image.events import IN_REGION, cluster_event, image_event, rest_event

DRIVER = Path(__file__).with_name("invoke_handler.py")
# The project's own cache (make clean empties it), even when the venvs are shared from elsewhere.
RESULTS_CACHE = venv.ROOT / ".cache"
SEEDED_CLUSTER = "seeded-cluster"
# Results of one batch: ({event name: result}, the driver's stdout and stderr).
Batch = tuple[dict[str, Any], str]

def seed(version: str) -> list[dict[str, Any]]:
    """A stack that looks like a cluster of ``version`` to ParallelCluster: it lists parentless stacks
    tagged parallelcluster:version, and reads the scheduler from the Scheduler parameter."""
    return [{
        "service": "cloudformation",
        "operation": "create_stack",
        "params": {
            "StackName": SEEDED_CLUSTER,
            "TemplateBody": json.dumps({
                "Parameters": {"Scheduler": {"Type": "String"}},
                "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            }),
            "Parameters": [{"ParameterKey": "Scheduler", "ParameterValue": "slurm"}],
            "Tags": [{"Key": "parallelcluster:version", "Value": version}],
        },
    }]

# Requests that call AWS, answered by moto before the scenarios create anything.
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


def moto_request(version: str) -> dict[str, Any]:
    return {
        "mock_aws": True,
        "record_calls": True,
        "stand_in_stacks": True,
        "amis": scenarios.amis(version),
        "values": scenarios.VALUES,
        "seed": [*seed(version), *scenarios.seed(release(version))],
        "stand_in_outputs": scenarios.stand_in_outputs(release(version)),
        "stubs": scenarios.stubs(release(version)),
        "events": {**MOTO_EVENTS, **{name: event for name, (_, event) in scenarios.events(release(version)).items()}},
    }


def image_request() -> dict[str, Any]:
    return {"events": IMAGE_EVENTS, "without_node": ["no_node"], "cdk_synth": True}


def driver_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The driver's environment: this one without AWS, Python or moto settings, Node.js on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON", "MOTO_"))}
    env["PATH"] = os.pathsep.join([venv.node_dir(), "/usr/bin", "/bin"])
    env["TMPDIR"] = readonly.WRITABLE
    return {**env, **(extra or {})}


def run_batch(python: Path, request: dict[str, Any], name: str, env: dict[str, str]) -> Batch:
    """Run the driver on ``request`` in ``env``, the filesystem read-only but /tmp as on Lambda (readonly.py)."""
    with tempfile.TemporaryDirectory(prefix=f"handler-{name}-", dir=readonly.WRITABLE) as tmp:
        workdir = Path(tmp)
        req, out = workdir / "request.json", workdir / "results.json"
        req.write_text(json.dumps(request))
        proc = subprocess.run(
            readonly.read_only_command([str(python), str(DRIVER), str(req), str(out)]),
            capture_output=True, text=True, env=env, cwd=workdir, timeout=600,
        )
        if proc.returncode:
            raise AssertionError(f"{name} driver failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        return json.loads(out.read_text()), proc.stdout + proc.stderr


def moto_batch(venvs: venv.LambdaVenvs) -> Batch:
    """The moto batch's results, from the cache when its inputs have not changed."""
    request = moto_request(venvs.version)
    key = hashlib.sha256(
        "\0".join([venvs.root.name, DRIVER.read_text(), readonly.SCRIPT, json.dumps(request, sort_keys=True)]).encode()
    ).hexdigest()[:16]
    RESULTS_CACHE.mkdir(exist_ok=True)
    cached = RESULTS_CACHE / f"handler-moto-{venvs.version}-{key}.json"
    # One run per version at a time: another pytest-xdist worker waits here, then reads what the first wrote.
    with open(RESULTS_CACHE / f"handler-moto-{venvs.version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cached.exists():
            results, logs = run_batch(venvs.test_python, request, f"moto-{venvs.version}", driver_environment(venvs.image_environment()))
            partial = cached.with_suffix(".partial")
            partial.write_text(json.dumps({"results": results, "logs": logs}))
            partial.replace(cached)
            # Results of this version's earlier inputs, or of a version no longer served.
            others = tuple(f"handler-moto-{other}-" for other in venv.SUPPORTED_PARALLELCLUSTER_VERSIONS if other != venvs.version)
            for stale in RESULTS_CACHE.glob("handler-moto-*.json"):
                if stale != cached and not stale.name.startswith(others):
                    stale.unlink(missing_ok=True)
        stored = json.loads(cached.read_text())
    return stored["results"], stored["logs"]


def image_batch(venvs: venv.LambdaVenvs) -> Batch:
    return run_batch(venvs.image_python, image_request(), "image", driver_environment(venvs.image_environment()))


# ------------------------------------------------------------------ what the moto batch produced


def recorded_calls(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """{event name: [{"service", "operation", "region", "params"}, ...]} for every moto event."""
    return {name: result["calls"] for name, result in results.items() if isinstance(result, dict) and "calls" in result}


def _nested_templates(stack: dict[str, Any], create_stack: dict[str, Any], uploaded: dict[str, Any]) -> dict[str, Any]:
    """{logical id of each AWS::CloudFormation::Stack: the template it creates}.

    CDK v1 points a nested stack's TemplateURL at asset parameters; ParallelCluster passes the
    asset's S3 key in the "S3VersionKey" parameter as "<key>||<version>" (pcluster/models/cluster.py,
    _generate_asset_parameters), and uploaded the template under that key.
    """
    passed = {p["ParameterKey"]: p["ParameterValue"] for p in create_stack.get("Parameters", [])}
    nested = {}
    for logical_id, resource in stack["Resources"].items():
        if resource["Type"] != "AWS::CloudFormation::Stack":
            continue
        refs = [r for r in _refs(resource["Properties"]["TemplateURL"]) if "S3VersionKey" in r]
        [key] = {passed[r].split("||")[0] for r in refs}
        nested[logical_id] = uploaded[key]
    return nested


def _refs(value: Any):
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            yield value["Ref"]
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def templates(results: dict[str, Any], version: str) -> dict[str, dict[str, Any]]:
    """{configuration: {"event", "stack_name", "stack_tags", "service_role", "stack", "nested"}} per stack created.

    "stack" is the template ParallelCluster passed to CreateStack (by its S3 URL), "nested" the
    templates of its nested stacks by logical id, "stack_tags" the tags it gave the stack, and
    "service_role" whether it gave CloudFormation a role (else CloudFormation uses its credentials).
    """
    created = {}
    for name, (configuration, _) in scenarios.events(release(version)).items():
        result = results[name]
        create_stacks = [c["params"] for c in result["calls"] if c["operation"] == "CreateStack"]
        if not create_stacks or result["response"]["statusCode"] != 202:
            continue
        [create_stack] = create_stacks
        uploaded = result["templates"]
        url = create_stack["TemplateURL"].split("?")[0]
        [stack] = [template for key, template in uploaded.items() if url.endswith("/" + key)]
        created[configuration] = {
            "event": name,
            "stack_name": create_stack["StackName"],
            "stack_tags": create_stack.get("Tags", []),
            "service_role": "RoleARN" in create_stack,
            "stack": stack,
            "nested": _nested_templates(stack, create_stack, uploaded),
        }
    return created


def prepare_all() -> None:
    """Build the venvs of every served version and run their moto batches, two at a time (CPU-bound)."""
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(moto_batch, venv.ensure_all_venvs().values()))


if __name__ == "__main__":
    if sys.argv[1:] == ["--prepare"]:
        # `make test`, before the suite: every served version's venvs and moto batch, built once and cached.
        try:
            prepare_all()
        except (RuntimeError, AssertionError) as error:
            raise SystemExit(f"error: {error}") from None
        print("Lambda image venvs and handler batches ready for " + ", ".join(venv.SUPPORTED_PARALLELCLUSTER_VERSIONS))
        sys.exit(0)
    # python -m tests.lambda_image.batches OUTDIR [VERSION]: write the templates and the recorded calls as JSON.
    outdir = Path(sys.argv[1])
    version = sys.argv[2] if len(sys.argv) > 2 else venv.DEFAULT_PARALLELCLUSTER_VERSION
    outdir.mkdir(parents=True, exist_ok=True)
    moto_results, _ = moto_batch(venv.ensure_venvs(version))
    (outdir / "pcluster-templates.json").write_text(json.dumps(templates(moto_results, version), indent=1))
    (outdir / "recorded-calls.json").write_text(json.dumps(recorded_calls(moto_results), indent=1))
    print(f"wrote {outdir}/pcluster-templates.json and {outdir}/recorded-calls.json ({version})")
