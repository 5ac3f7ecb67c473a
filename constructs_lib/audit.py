"""Acknowledging cdk-nag findings narrowly: on one construct, per finding, with a reason.

cdk-nag 3 runs its packs as CDK validation plugins; a finding that is not acknowledged fails the
synth. Every acknowledgement here names one rule of one pack, and for rules that report
findings (such as wildcard permissions) the finding itself, on the construct it concerns.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import IConstruct

AWS_SOLUTIONS = "AwsSolutions"
SERVERLESS = "Serverless"
NIST_800_53_R5 = "NIST.800.53.R5"
HIPAA = "HIPAA.Security"
PACKS = (AWS_SOLUTIONS, SERVERLESS, NIST_800_53_R5, HIPAA)


def acknowledge(construct: IConstruct, reason: str, *rules: str) -> None:
    """Acknowledge ``rules`` (``Pack-Rule`` or ``Pack-Rule[finding]``) on ``construct``."""
    if len(reason.split()) < 8 or not reason.rstrip().endswith("."):
        raise ValueError(f"an acknowledgement needs a reason of at least one real sentence: {reason!r}")
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=f"{_pack_of(rule)}::{rule}", reason=reason) for rule in rules)
    )


def _pack_of(rule: str) -> str:
    for pack in PACKS:
        if rule.startswith(f"{pack}-"):
            return pack
    raise ValueError(f"{rule}: not a rule of {', '.join(PACKS)}")


def nag_text(stack: Stack, value: Any) -> str:
    """A value as cdk-nag writes it in a finding: ``Ref`` as ``<Name>``, ``GetAtt`` as ``<Name.Attr>``."""
    resolved = stack.resolve(value)
    if isinstance(resolved, str):
        return resolved
    if "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    if "Fn::GetAtt" in resolved:
        return "<{}.{}>".format(*resolved["Fn::GetAtt"])
    if "Fn::Join" in resolved:
        separator, parts = resolved["Fn::Join"]
        return separator.join(nag_text(stack, part) for part in parts)
    # Other functions appear as their compact JSON.
    return json.dumps(resolved, separators=(",", ":"))


def acknowledge_wildcards(
    construct: IConstruct, statements: Iterable[iam.PolicyStatement], reasons: Mapping[str, str]
) -> None:
    """Acknowledge each wildcard (AwsSolutions-IAM5) of ``statements`` with its statement's reason.

    ``reasons`` maps a statement id to why that statement needs its wildcards; a wildcard
    statement without a reason is an error, so no wildcard goes unexplained.
    """
    stack = Stack.of(construct)
    for statement in statements:
        findings = [f"Action::{action}" for action in statement.actions if "*" in action]
        findings += [
            f"Resource::{text}" for text in (nag_text(stack, r) for r in statement.resources) if "*" in text
        ]
        if not findings:
            continue
        if statement.sid not in reasons:
            raise KeyError(f"statement {statement.sid} has wildcards ({', '.join(findings)}) but no reason")
        acknowledge(construct, reasons[statement.sid], *(f"AwsSolutions-IAM5[{finding}]" for finding in findings))
