"""Reading a lock of lambda_image/locks/ as pip will: one hashed pin per line."""

from __future__ import annotations

import re
from pathlib import Path

PIN = re.compile(r"(?P<name>[a-z0-9]+(?:-[a-z0-9]+)*)==(?P<version>[0-9][^ ]*)(?P<hashes>(?: --hash=sha256:[0-9a-f]{64})+)")


def pins(lock: Path) -> dict[str, str]:
    """name → version of every requirement line; each line must be a hashed pin (canonical name)."""
    found = {}
    for line in lock.read_text().splitlines():
        if line.startswith("#"):
            continue
        match = PIN.fullmatch(line)
        assert match, f"{lock.name}: not a hashed pin in canonical form: {line!r}"
        assert match["name"] not in found, f"{lock.name}: {match['name']} pinned twice"
        found[match["name"]] = match["version"]
    return found
