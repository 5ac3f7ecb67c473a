"""Facts about AWS's own templates, recorded with their sources in tests/stacks/official/ (the tests never fetch)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from tests.stacks.update_simulation import StackState

OFFICIAL = Path(__file__).parent / "official"
API_FACTS = OFFICIAL / "parallelcluster-api-3.11.1.yaml"
UI_FACTS = OFFICIAL / "parallelcluster-ui.yaml"


@functools.cache
def api_facts() -> dict[str, Any]:
    facts: dict[str, Any] = yaml.safe_load(API_FACTS.read_text())
    return facts


@functools.cache
def ui_facts() -> dict[str, Any]:
    facts: dict[str, Any] = yaml.safe_load(UI_FACTS.read_text())
    return facts


def official_parameters(configuration: str) -> dict[str, str]:
    """The parameter values AWS's stack was created with, in one of the recorded configurations."""
    return dict(api_facts()["configurations"][configuration]["parameters"])


def official_stack(configuration: str) -> StackState:
    """AWS's v3.11.1 stack as CloudFormation holds it, in one of the recorded configurations."""
    recorded = api_facts()["configurations"][configuration]
    return StackState(recorded["resources"], recorded["outputs"])
