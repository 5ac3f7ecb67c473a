"""The client imports nothing of the CDK: it installs and runs with boto3 alone (no jsii, no Node.js)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

CDK_MODULES = ("aws_cdk", "constructs", "jsii", "cdk_nag", "constructs_lib", "stacks")

# Import the package and every module of it (the command's included), then list what is loaded.
SCRIPT = """
import importlib, json, pkgutil, sys
import pcluster_api_client
for module in pkgutil.walk_packages(pcluster_api_client.__path__, "pcluster_api_client."):
    if module.name != "pcluster_api_client.__main__":
        importlib.import_module(module.name)
from pcluster_api_client.cli import main
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(script: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_the_client_imports_no_cdk_module() -> None:
    modules = loaded_modules(SCRIPT)

    assert "pcluster_api_client.cli" in modules and "boto3" in modules
    assert [name for name in modules if name.split(".")[0] in CDK_MODULES] == []


def test_the_check_would_see_a_cdk_import() -> None:
    """Control: importing the constructs in the same way loads the CDK modules the test looks for."""
    modules = loaded_modules(SCRIPT + "import constructs_lib\nprint(json.dumps(sorted(sys.modules)))\n")

    assert {"aws_cdk", "constructs", "jsii", "constructs_lib"} <= {name.split(".")[0] for name in modules}
