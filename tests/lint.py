"""cfn-lint on a template, its findings kept in .cache/ under a hash of all that decides them.

Findings are a function of the template's text, the Regions and cfn-lint's version (with the
resource schemas it bundles), so a template the suite has linted before is not linted again:
make test relints only what a change changed. make clean empties the cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

import cfnlint.api

from tools.configurations import ROOT

CACHE = ROOT / ".cache" / "cfn-lint"


def lint(template: dict[str, Any], regions: Sequence[str]) -> list[tuple[str, str]]:
    """(rule id, "message (path)") of each finding of cfn-lint on ``template`` in ``regions``."""
    text = json.dumps(template, sort_keys=True)
    key = hashlib.sha256("\0".join([version("cfn-lint"), ",".join(regions), text]).encode()).hexdigest()
    cached = CACHE / f"{key}.json"
    if cached.exists():
        return [(rule, message) for rule, message in json.loads(cached.read_text())]
    found = [
        (match.rule.id, f"{match.message} ({'/'.join(map(str, match.path))})")
        for match in cfnlint.api.lint(text, regions=list(regions))
    ]
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{id(found)}.partial")
    partial.write_text(json.dumps(found))
    partial.replace(cached)
    return found
