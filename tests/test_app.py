"""The app as users run it: `cdk synth` with the pinned CLI, and a bad setting's one-line refusal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from constructs_lib.api_image import locks
from tests.conftest import ROOT


def run_app(context: dict, tmp_path) -> subprocess.CompletedProcess:
    """Run app.py the way the CDK CLI does: context in CDK_CONTEXT_JSON, output in CDK_OUTDIR."""
    cdk_json = json.loads((ROOT / "cdk.json").read_text())["context"]
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({**cdk_json, **context}),
        "CDK_OUTDIR": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("context", "line"),
    [
        ({"Region": "mars-1"}, "error: Region: expected '*' or a Region name such as eu-west-1; got 'mars-1'"),
        ({"EnableIamAdminAcess": "true"}, "error: EnableIamAdminAcess: unknown setting; did you mean EnableIamAdminAccess?"),
        ({"CreateApiUserRole": "no"}, "error: CreateApiUserRole: expected true or false; got 'no'"),
        (
            {"ParallelClusterVersion": "3.15.0"},
            "error: ParallelClusterVersion: expected a version whose image environment is locked "
            f"({', '.join(locks.locked_versions())}; lock one with 'make lock VERSION=3.15.0'), or EcrImageUri "
            "or PublicEcrImageUri to run an image built elsewhere; got '3.15.0'",
        ),
    ],
)
def test_bad_setting_exits_non_zero_with_one_line_and_no_traceback(context, line, tmp_path):
    result = run_app(context, tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [line]
    assert not list(tmp_path.glob("*.template.json"))


def test_cdk_synth_with_the_pinned_cli_writes_the_default_template(tmp_path):
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        pytest.fail("the pinned CDK CLI is missing: run `make test`, which installs it with npm ci")
    env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "AWS_REGION": "eu-west-1"}
    result = subprocess.run(
        [str(cdk), "synth", "--quiet", "-o", str(tmp_path), "-c", "Region=eu-west-1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "ParallelClusterApi.template.json").read_text())
    (rest_api,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    # The CLI passes the Region it deploys to; the spec comes from that Region's bucket.
    assert rest_api["Properties"]["Body"]["Fn::Transform"]["Parameters"]["Location"].startswith("s3://eu-west-1-aws-parallelcluster/")
    assert "Node 20 is end-of-life" not in result.stderr
