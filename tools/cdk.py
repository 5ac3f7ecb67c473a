"""`make synth` and `make deploy`: the pinned CDK CLI, and a refused setting's one line as the last word.

When app.py refuses a setting it prints one line (``error: <key>: expected ...``) and exits non-zero;
the CLI then adds ``<app command>: Subprocess exited with error 1``, which reads like a second
failure. This runs the CLI with everything else passed through as it comes (prompts included), drops
that line after the app's own, and exits with the CLI's status.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
ECHO = re.compile(r".*: Subprocess exited with error \d+\r?\n?")
PROMPT_WAIT = 0.2  # seconds


def run(arguments: list[str], cli: Path = CDK) -> int:
    process = subprocess.Popen([str(cli), *arguments], cwd=ROOT, stderr=subprocess.PIPE)
    assert process.stderr is not None
    stream = process.stderr.fileno()
    refused = False
    pending = b""
    started = False  # part of the current line was passed on already
    while True:
        # A line is passed on when it is whole; a part of a line when nothing more comes for a moment
        # (a prompt has no newline).
        if pending and not select.select([stream], [], [], PROMPT_WAIT)[0]:
            refused = refused or (not started and pending.startswith(b"error: "))
            started = True
            sys.stderr.write(pending.decode(errors="replace"))
            sys.stderr.flush()
            pending = b""
            continue
        chunk = os.read(stream, 4096)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            text = line.decode(errors="replace") + "\n"
            if refused and ECHO.fullmatch(text):
                continue
            # (The rest of a line passed on in part is not a line's start.)
            refused = refused or (not started and text.startswith("error: "))
            started = False
            sys.stderr.write(text)
        sys.stderr.flush()
    if pending and not (refused and ECHO.fullmatch(pending.decode(errors="replace"))):
        sys.stderr.write(pending.decode(errors="replace"))
    return process.wait()


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
