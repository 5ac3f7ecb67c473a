"""The official ``pcluster`` CLI's commands for the API's operations, as recorded from each release (data/).

Each file is what official_cli.py printed in the Lambda image venv of that release; its "source"
names the package, version and files. test_official_cli.py checks the default version's file
against the release itself.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).with_name("data")
RECORDER = Path(__file__).with_name("official_cli.py")
#: Flags the official CLI gives every API command beyond the spec's parameters.
CLI_FLAGS = {"--debug", "--query"}


def data_file(version: str) -> Path:
    return DATA_DIR / f"pcluster-cli-{version}.json"


def recorded_versions() -> list[str]:
    return sorted(path.stem.removeprefix("pcluster-cli-") for path in DATA_DIR.glob("pcluster-cli-*.json"))


@functools.cache
def recorded(version: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(data_file(version).read_text())
    return data


def snake_case(name: str) -> str:
    """An API parameter's name as the official CLI's argparse destination (``clusterName``: ``cluster_name``)."""
    return re.sub("([A-Z])", r"_\1", name).lower()


def parameter_options(operation: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(spec parameter, the official CLI's option for it) of each parameter of a recorded operation."""
    options = {option["dest"]: option for option in operation["options"]}
    return [(parameter, options[snake_case(parameter["name"])]) for parameter in operation["parameters"]]
