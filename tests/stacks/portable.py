"""The portable template as ``make template`` writes it, synthesized once per test session and worker."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from constructs_lib.parallelcluster_api.plan import OfficialDomain
from tests.conftest import TEST_REGION
from tools import portable_template


@functools.cache
def portable(
    region: str = TEST_REGION, official_domain: OfficialDomain | None = None, version: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The template of ``region`` (for a stack of AWS's template with that custom domain; of a served
    ParallelCluster ``version``, by default the default one), read back from its YAML; and the audit report."""
    outdir = Path(tempfile.mkdtemp(prefix="portable-test-"))
    template = portable_template.synthesize(region, version, outdir=outdir, official_domain=official_domain)
    written = yaml.safe_load(portable_template.to_yaml(template))
    assert written == template, "the YAML file holds the synthesized template"
    return written, json.loads((outdir / "validation-report.json").read_text())
