"""`make bench`: how much slower `make synth` is than synthesizing an empty CDK app.

Both run with the same pinned CDK CLI, Node.js and Python; runs alternate so that the machine's
load falls on both alike. Prints each median and their ratio (target: at most 1.5).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
TARGET_RATIO = 1.5

EMPTY_APP = """
import aws_cdk as cdk
app = cdk.App()
cdk.Stack(app, "Empty")
app.synth()
"""


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    cdk = str(ROOT / "node_modules" / ".bin" / "cdk")
    with tempfile.TemporaryDirectory(prefix="empty-cdk-app-") as empty:
        empty_dir = Path(empty)
        (empty_dir / "app.py").write_text(EMPTY_APP)
        (empty_dir / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
        ours, baseline = [], []
        for _ in range(RUNS):
            ours.append(timed(["make", "--no-print-directory", "synth"], ROOT))
            baseline.append(timed([cdk, "synth", "--quiet"], empty_dir))
    ours_median, baseline_median = statistics.median(ours), statistics.median(baseline)
    ratio = ours_median / baseline_median
    print(f"make synth:       median {ours_median:.2f} s over {RUNS} runs {[round(t, 2) for t in ours]}")
    print(f"empty CDK app:    median {baseline_median:.2f} s over {RUNS} runs {[round(t, 2) for t in baseline]}")
    print(f"ratio of medians: {ratio:.2f} (target <= {TARGET_RATIO})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
