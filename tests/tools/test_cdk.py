"""tools/cdk.py (make synth, make deploy): the CLI's output as it comes, and a refusal's line as the last."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import ROOT


def fake_cli(tmp_path: Path, body: str) -> Path:
    """A stand-in for the CDK CLI: a Python script that writes to stderr as ``body`` says."""
    script = tmp_path / "cdk"
    script.write_text(f"#!{sys.executable}\nimport sys, time\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return script


def through_wrapper(cli: Path) -> subprocess.CompletedProcess:
    code = f"import sys; from pathlib import Path; from tools import cdk; sys.exit(cdk.run(['synth'], Path({str(cli)!r})))"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_refused_setting_is_the_last_line(tmp_path):
    cli = fake_cli(tmp_path, """
        sys.stderr.write("error: Region: expected '*' or a Region name such as eu-west-1; got 'mars-1'")
        sys.stderr.flush(); time.sleep(0.3)
        sys.stderr.write("\\n.venv/bin/python app.py: Subprocess exited with error 1\\n")
        sys.exit(1)
    """)
    result = through_wrapper(cli)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["error: Region: expected '*' or a Region name such as eu-west-1; got 'mars-1'"]


def test_everything_else_passes_prompts_included(tmp_path):
    cli = fake_cli(tmp_path, """
        sys.stderr.write("Synthesis time: 9.1s\\n")
        sys.stderr.write("Do you wish to deploy these changes (y/n)? ")
        sys.stderr.flush(); time.sleep(0.5)
        sys.stderr.write("y\\nSubprocess exited with error 3 is only an echo after a refusal\\n")
        sys.exit(3)
    """)
    result = through_wrapper(cli)
    assert result.returncode == 3
    assert result.stderr == (
        "Synthesis time: 9.1s\nDo you wish to deploy these changes (y/n)? y\n"
        "Subprocess exited with error 3 is only an echo after a refusal\n"
    )


def test_make_synth_with_a_bad_setting_prints_its_line_alone(tmp_path):
    env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "tools.cdk", "synth", "--quiet", "-o", str(tmp_path), "-c", "EnableIamAdminAccess=yes"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["error: EnableIamAdminAccess: expected true or false; got 'yes'"]
