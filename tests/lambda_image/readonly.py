"""Run a command with the filesystem read-only except /tmp, as Lambda runs a function.

Lambda gives a function a read-only filesystem where only /tmp is writable ("Lambda execution
environment" and "Configuring ephemeral storage" in the Lambda Developer Guide). The handler
batches and `make bench` run the handler that way: in a mount namespace of their own
(`unshare --mount`, util-linux), /tmp becomes a mount of its own and every other mount is bound
again read-only, which stops root too (a read-only mount refuses writes whatever the caller's
permissions, where chmod does not stop root). /proc, /sys and /dev stay as they are. Nothing
changes outside the namespace. As root the namespace needs CAP_SYS_ADMIN (as on this project's
machines and CI); other users get one inside a user namespace (`--map-root-user`).

Before the command runs, the wrapper checks that it cannot write beside the command's program
(a venv's interpreter) and can write in /tmp; if either fails, it exits 97 with the reason.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

WRITABLE = "/tmp"
NOT_READ_ONLY = 97

# POSIX sh, run as the namespace's first process: "$1" is the directory that must be read-only,
# the rest the command. mountinfo's fifth field is the mount point, the sixth its options: they
# are kept (a user namespace may not drop nosuid or nodev), and ro comes last so that it wins.
# Part of the moto batch's cache key (batches.py): its results come from read-only runs.
SCRIPT = r"""
set -e
probe_dir=$1; shift
mount --bind /tmp /tmp
while read -r _ _ _ _ point options _; do
  case "$point" in
    /tmp|/tmp/*|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*) ;;
    *) mount -o "remount,bind,$options,ro" "$point" ;;
  esac
done < /proc/self/mountinfo
probe="$probe_dir/.read-only-probe-$$"
if ( : > "$probe" ) 2>/dev/null; then
  rm -f "$probe"; echo "read-only: $probe_dir is still writable" >&2; exit 97
fi
tmp_probe="/tmp/.read-only-probe-$$"
if ! ( : > "$tmp_probe" ) 2>/dev/null; then
  echo "read-only: /tmp is not writable" >&2; exit 97
fi
rm -f "$tmp_probe"
exec "$@"
"""


@functools.cache
def _unshare() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        raise RuntimeError("unshare (util-linux) is needed to run the handler on a read-only filesystem as Lambda does")
    command = [unshare, "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        command.insert(1, "--map-root-user")
    return command


def read_only_command(command: list[str]) -> list[str]:
    """``command``, to run with every mount but /tmp, /proc, /sys and /dev read-only."""
    probe_dir = str(Path(command[0]).parent)
    return [*_unshare(), "sh", "-c", SCRIPT, "read-only", probe_dir, *command]


@functools.cache
def check() -> None:
    """Raise with the reason when this machine cannot make a read-only mount namespace."""
    proc = subprocess.run(
        read_only_command([shutil.which("true") or "/bin/true"]), capture_output=True, text=True, timeout=60
    )
    if proc.returncode:
        raise RuntimeError(
            "cannot run the handler on a read-only filesystem (a mount namespace, as Lambda's): "
            f"{proc.stderr.strip() or f'exit {proc.returncode}'}"
        )


