"""A small, exact evaluator of IAM identity-based policies (no third-party dependency).

``evaluate(policy_documents, request)`` answers whether the policies allow one request, and which
statement decided it, with the rules of the IAM User Guide:

- Policy evaluation logic: a request is denied by default; an explicit ``Deny`` in any statement
  overrides every ``Allow``; without either, the request is implicitly denied.
- "IAM JSON policy elements: Action / NotAction": action names are not case-sensitive and may hold
  the wildcards ``*`` and ``?``; a ``NotAction`` statement applies to every action it does not list.
- "IAM JSON policy elements: Resource": "You can use wildcard characters (* and ?) within any ARN
  segment (the parts separated by colons)". Each of the first five segments is matched on its own;
  the sixth (the resource id, which may itself hold colons, as in ``log-group:name:*``) is matched
  as a whole. Resource matching is case-sensitive.
- "IAM JSON policy elements: Condition operators" and "Conditions with multiple context keys or
  values": several operators, and several keys in one operator, are ANDed; several values of one key
  are ORed, and NORed for a negated operator (``StringNotEquals``, ``ArnNotLike``...). When the key is
  missing from the request context, an operator is false, a negated operator is true, ``...IfExists``
  is true and ``Null`` tests the absence itself. ``ForAllValues`` is true when every request value
  matches, and also when the key is missing or its values are an empty set; ``ForAnyValue`` is true
  when at least one request value matches, and false on a missing key or an empty set.
  Condition key names are not case-sensitive ("IAM JSON policy elements: Condition").
- ARN operators compare "each of the six colon-delimited components of the ARN ... separately", so
  ``ArnLike`` and ``StringLike`` can disagree (the User Guide's ``finance/*`` example is a unit test).

What it does not do, on purpose (each raises ``UnsupportedPolicy`` instead of guessing): policy
variables (``${aws:username}``), ``Principal``/``NotPrincipal`` (resource-based policies), condition
operators other than String, Numeric, Bool, Arn and Null, and a multivalued request value under an
operator without ``ForAllValues``/``ForAnyValue`` (the User Guide: "Multivalued context keys require a
condition set operator").

A request whose resource is not known (``resource=None``) is evaluated for *some* resource: an Allow
statement counts when its ``Resource``/``NotResource`` could match a resource, and the decision says
that the resource was not evaluated. A Deny statement is certain only when it covers every resource
(``"Resource": "*"``); one that might cover the unknown resource is named in the decision's reason.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ContextValue = str | bool | int | float | Sequence[str]
PolicyDocuments = Mapping[str, Mapping[str, Any]] | Iterable[Mapping[str, Any]]


class UnsupportedPolicy(ValueError):
    """The policy or request uses something this evaluator does not evaluate."""


@dataclass(frozen=True)
class Request:
    """One authorization request: an IAM action on a resource, with its request context.

    ``resource`` is the ARN the action acts on, or ``None`` when it is not known. ``context`` maps
    condition keys (any case) to a value: a string, a bool or number, or a sequence of strings for a
    multivalued key such as ``aws:TagKeys``.
    """

    action: str
    resource: str | None
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """What the policies decide for a request, and why."""

    allowed: bool
    #: "Allow", "Deny" (explicit) or "ImplicitDeny".
    effect: str
    #: The deciding statement, as ``<policy>/<Sid>`` (``None`` for an implicit deny).
    statement: str | None
    #: False when the request's resource was not known and statements were matched for any resource.
    resource_evaluated: bool
    reason: str
    #: Statements that name the action but did not apply, each with the element that failed.
    near_misses: tuple[str, ...] = ()


# --- Matching ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """``*`` is any run of characters, ``?`` any one character; everything else is literal."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def arn_match(pattern: str, value: str) -> bool:
    """Segment-wise ARN matching (Resource element, ``ArnLike``/``ArnEquals``).

    Both sides are split into their six colon-separated components (the last keeps any further
    colons); each component of the pattern is a glob for the same component of the value. ``*``
    alone matches every resource. A pattern that is not a six-component ARN matches as a whole string.
    """
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    if len(pattern_parts) < 6:
        return glob_match(pattern, value)
    value_parts = value.split(":", 5)
    if len(value_parts) < 6:
        return False
    return all(glob_match(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _text(value: Any) -> str:
    """A policy or context value as IAM compares it: JSON true/false are "true"/"false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _reject_variables(values: Iterable[str], where: str) -> None:
    for value in values:
        if "${" in value:
            raise UnsupportedPolicy(f"policy variable in {where}: {value!r}")


# --- Conditions ----------------------------------------------------------------------------------


def _string_equals(policy: str, value: str) -> bool:
    return policy == value


def _string_equals_ignore_case(policy: str, value: str) -> bool:
    return policy.casefold() == value.casefold()


def _string_like(policy: str, value: str) -> bool:
    return glob_match(policy, value)


def _bool(policy: str, value: str) -> bool:
    return policy.lower() == value.lower()


def _numeric(compare):
    def match(policy: str, value: str) -> bool:
        try:
            return compare(float(value), float(policy))
        except ValueError:
            return False

    return match


# Operator name -> (per-value match, negated).
_OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "NumericEquals": (_numeric(lambda v, p: v == p), False),
    "NumericNotEquals": (_numeric(lambda v, p: v == p), True),
    "NumericLessThan": (_numeric(lambda v, p: v < p), False),
    "NumericLessThanEquals": (_numeric(lambda v, p: v <= p), False),
    "NumericGreaterThan": (_numeric(lambda v, p: v > p), False),
    "NumericGreaterThanEquals": (_numeric(lambda v, p: v >= p), False),
    "Bool": (_bool, False),
    # "The ArnEquals and ArnLike condition operators behave identically."
    "ArnEquals": (arn_match, False),
    "ArnLike": (arn_match, False),
    "ArnNotEquals": (arn_match, True),
    "ArnNotLike": (arn_match, True),
}
_QUALIFIERS = ("ForAllValues", "ForAnyValue")


def _parse_operator(operator: str) -> tuple[str | None, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> ("ForAnyValue", "StringLike", True)."""
    qualifier, _, base = operator.rpartition(":")
    if qualifier and qualifier not in _QUALIFIERS:
        raise UnsupportedPolicy(f"unknown condition set operator {qualifier!r} in {operator!r}")
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[: -len("IfExists")]
    if base == "Null":
        if qualifier or if_exists:
            raise UnsupportedPolicy(f"{operator!r}: Null takes neither a set operator nor IfExists")
    elif base not in _OPERATORS:
        raise UnsupportedPolicy(f"unsupported condition operator {operator!r}")
    return qualifier or None, base, if_exists


def _context_values(context: Mapping[str, ContextValue], key: str) -> list[str] | None:
    """The request's values of a condition key (names are not case-sensitive), None when missing."""
    wanted = key.lower()
    for name, value in context.items():
        if name.lower() == wanted:
            return [_text(v) for v in _as_list(value)]
    return None


def condition_holds(
    operator: str, key: str, policy_values: Any, context: Mapping[str, ContextValue]
) -> tuple[bool, str]:
    """Evaluate one key of one condition operator; returns (holds, explanation)."""
    qualifier, base, if_exists = _parse_operator(operator)
    values = [_text(v) for v in _as_list(policy_values)]
    _reject_variables(values, f"condition {operator} {key}")
    request_values = _context_values(context, key)
    shown = "missing" if request_values is None else f"= {request_values}"
    explanation = f"{operator} {{{key}: {values}}} with {key} {shown}"

    if base == "Null":
        # "true": the key must be absent; "false": present. Several values are ORed.
        holds = any((v.lower() == "true") == (request_values is None) for v in values)
        return holds, explanation

    match, negated = _OPERATORS[base]
    if request_values is None:
        if if_exists or qualifier == "ForAllValues":
            return True, explanation
        if qualifier == "ForAnyValue":
            return False, explanation
        return negated, explanation

    def value_holds(request_value: str) -> bool:
        matched = any(match(policy_value, request_value) for policy_value in values)
        return matched != negated  # OR of the values; NOR for a negated operator

    if qualifier is None:
        if len(request_values) != 1:
            raise UnsupportedPolicy(
                f"{explanation}: a multivalued context key needs ForAllValues or ForAnyValue"
            )
        return value_holds(request_values[0]), explanation
    # An empty set ("" or []) makes ForAllValues true and ForAnyValue false.
    members = [v for v in request_values if v != ""]
    if qualifier == "ForAllValues":
        return all(value_holds(v) for v in members), explanation
    return any(value_holds(v) for v in members), explanation


def _failed_condition(condition: Mapping[str, Any], context: Mapping[str, ContextValue]) -> str | None:
    """The first condition that does not hold (all operators and keys are ANDed), or None."""
    for operator, keys in condition.items():
        if not isinstance(keys, Mapping):
            raise UnsupportedPolicy(f"condition {operator!r} must map keys to values")
        for key, policy_values in keys.items():
            holds, explanation = condition_holds(operator, key, policy_values, context)
            if not holds:
                return explanation
    return None


# --- Statements ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Statement:
    label: str
    effect: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    condition: Mapping[str, Any]

    @classmethod
    def parse(cls, label: str, statement: Mapping[str, Any]) -> _Statement:
        if "Principal" in statement or "NotPrincipal" in statement:
            raise UnsupportedPolicy(f"{label}: Principal belongs to resource-based policies")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise UnsupportedPolicy(f"{label}: Effect must be Allow or Deny, not {effect!r}")
        if ("Action" in statement) == ("NotAction" in statement):
            raise UnsupportedPolicy(f"{label}: needs exactly one of Action and NotAction")
        if ("Resource" in statement) == ("NotResource" in statement):
            raise UnsupportedPolicy(f"{label}: needs exactly one of Resource and NotResource")
        actions = tuple(_as_list(statement.get("Action", statement.get("NotAction"))))
        resources = tuple(_as_list(statement.get("Resource", statement.get("NotResource"))))
        if not all(isinstance(item, str) for item in (*actions, *resources)):
            raise UnsupportedPolicy(f"{label}: actions and resources must be strings (render intrinsics first)")
        _reject_variables(resources, f"{label} resources")
        return cls(
            label=label,
            effect=effect,
            actions=actions,
            not_action="NotAction" in statement,
            resources=resources,
            not_resource="NotResource" in statement,
            condition=statement.get("Condition", {}),
        )

    def names_action(self, action: str) -> bool:
        listed = any(glob_match(pattern, action, ignore_case=True) for pattern in self.actions)
        return listed != self.not_action

    def covers_resource(self, resource: str | None) -> bool:
        """Whether the statement applies to the resource (None: to some resource)."""
        if resource is None:
            return not (self.not_resource and "*" in self.resources)
        listed = any(arn_match(pattern, resource) for pattern in self.resources)
        return listed != self.not_resource

    def covers_every_resource(self) -> bool:
        return not self.not_resource and "*" in self.resources


class ParsedPolicies:
    """Policy documents parsed once, for many requests: the statements that may name each action."""

    def __init__(self, policy_documents: PolicyDocuments) -> None:
        named = (
            policy_documents.items()
            if isinstance(policy_documents, Mapping)
            else ((f"policy {i}", document) for i, document in enumerate(policy_documents))
        )
        self.statements: list[_Statement] = []
        for name, document in named:
            for index, statement in enumerate(_as_list(document.get("Statement", []))):
                label = f"{name}/{statement.get('Sid') or f'statement {index}'}"
                self.statements.append(_Statement.parse(label, statement))
        self._naming: dict[str, list[_Statement]] = {}

    def naming(self, action: str) -> list[_Statement]:
        """The statements that apply to ``action``, in policy order."""
        key = action.lower()
        if key not in self._naming:
            self._naming[key] = [statement for statement in self.statements if statement.names_action(action)]
        return self._naming[key]


def parse(policy_documents: PolicyDocuments | ParsedPolicies) -> ParsedPolicies:
    """Parse once, to evaluate many requests against the same policies."""
    return policy_documents if isinstance(policy_documents, ParsedPolicies) else ParsedPolicies(policy_documents)


def evaluate(policy_documents: PolicyDocuments | ParsedPolicies, request: Request) -> Decision:
    """Decide ``request`` under identity-based policies.

    ``policy_documents``: policy documents, or a mapping of policy name to document (the name then
    prefixes each statement's Sid in the decision), or those parsed by :func:`parse`.
    """
    resource_known = request.resource is not None
    allowing: _Statement | None = None
    possible_denies: list[str] = []
    near_misses: list[str] = []
    for statement in parse(policy_documents).naming(request.action):
        if not statement.covers_resource(request.resource):
            near_misses.append(f"{statement.label}: {request.resource} matches none of {list(statement.resources)}")
            continue
        failed = _failed_condition(statement.condition, request.context)
        if failed:
            near_misses.append(f"{statement.label}: condition {failed} is false")
            continue
        if statement.effect == "Deny":
            if resource_known or statement.covers_every_resource():
                return Decision(
                    allowed=False,
                    effect="Deny",
                    statement=statement.label,
                    resource_evaluated=resource_known,
                    reason=f"{request.action} is explicitly denied by {statement.label}",
                )
            possible_denies.append(statement.label)
        elif allowing is None:
            allowing = statement
    on = f" on {request.resource}" if resource_known else " (resource not known)"
    if allowing is None:
        detail = "; ".join(near_misses) if near_misses else "no statement names the action"
        return Decision(
            allowed=False,
            effect="ImplicitDeny",
            statement=None,
            resource_evaluated=resource_known,
            reason=f"no statement allows {request.action}{on}: {detail}",
            near_misses=tuple(near_misses),
        )
    reason = f"{request.action}{on} is allowed by {allowing.label}"
    if possible_denies:
        reason += f"; it may be denied for some resources by {', '.join(possible_denies)}"
    return Decision(
        allowed=True,
        effect="Allow",
        statement=allowing.label,
        resource_evaluated=resource_known,
        reason=reason,
        near_misses=tuple(near_misses),
    )
