"""The handler runs on a filesystem read-only but /tmp, as on Lambda (readonly.py); these prove that wrapper."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.lambda_image import readonly

WRITE = "import pathlib, sys\nfor path in sys.argv[1:]:\n    try:\n        pathlib.Path(path).write_text('x')\n        print(path, 'written')\n    except OSError as error:\n        print(path, error.strerror)\n"


def test_only_tmp_is_writable_even_for_this_user():
    # This user may write both places outside the wrapper (CI runs as root, whom chmod does not stop).
    outside = Path(__file__).with_name(".read-only-test")
    inside = Path(readonly.WRITABLE) / f".read-only-test-{id(outside)}"
    try:
        proc = subprocess.run(
            readonly.read_only_command([sys.executable, "-c", WRITE, str(outside), str(inside)]),
            capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == [f"{outside} Read-only file system", f"{inside} written"]
        assert not outside.exists()
    finally:
        inside.unlink(missing_ok=True)


def test_a_namespace_that_stays_writable_stops_the_command():
    # The wrapper's own check: the command does not run when the program's directory is writable.
    script = readonly.SCRIPT.replace('mount -o "remount,bind,$options,ro" "$point"', ":")
    command = readonly.read_only_command(["/bin/echo", "ran"])
    command[command.index(readonly.SCRIPT)] = script
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert proc.returncode == readonly.NOT_READ_ONLY
    assert proc.stdout == ""
    assert "is still writable" in proc.stderr
