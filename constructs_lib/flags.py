"""Yes/no choices that are known when the app synthesizes, or decided by CloudFormation at deploy time.

The construct builds the same resources whichever way the API is delivered. In the CDK app every
choice is a Python ``bool``: a resource that is not wanted is not created, a property takes its
value. In the portable template (``stacks/portable_template.py``) a choice is a condition over the
template's parameters: a resource that may be wanted is created with that condition, and a property
that depends on it becomes ``Fn::If``. :class:`Flag` lets the construct's code say both at once:
``flag.possible`` (create it at all?), ``flag.guard(resource)``, ``flag.pick(yes, no)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from aws_cdk import Aws, CfnCondition, CfnOutput, CfnResource, Fn, ICfnConditionExpression, Stack, Token
from constructs import IConstruct


class Flag:
    """A choice: ``True``/``False`` at synth time, or a named condition evaluated at deploy time."""

    def __init__(self, value: bool | CfnCondition, name: str = "") -> None:
        if isinstance(value, CfnCondition) and not name:
            raise ValueError("a deploy-time flag needs the name of its condition")
        self.value = value
        self.name = name

    @classmethod
    def condition(cls, scope: IConstruct, name: str, expression: Any) -> Flag:
        """A deploy-time flag: the condition ``name`` of ``scope``'s stack (made once per name)."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(name)
        if isinstance(existing, CfnCondition):
            if stack.resolve(existing.expression) != stack.resolve(expression):
                raise ValueError(f"two different conditions would be named {name}")
            return cls(existing, name)
        condition = CfnCondition(stack, name, expression=expression)
        condition.override_logical_id(name)
        return cls(condition, name)

    @property
    def known(self) -> bool:
        """Whether the choice is made at synth time."""
        return isinstance(self.value, bool)

    @property
    def possible(self) -> bool:
        """Whether the template must hold what the choice adds (true, or decided at deploy time)."""
        return self.value is not False

    @property
    def certain(self) -> bool:
        """Whether the choice is known to be yes."""
        return self.value is True

    def pick(self, yes: Any, no: Any = Aws.NO_VALUE) -> Any:
        """``yes`` or ``no``; ``Fn::If`` when decided at deploy time (``no`` defaults to AWS::NoValue)."""
        if isinstance(self.value, bool):
            return yes if self.value else no
        return Fn.condition_if(self.name, yes, no)

    def optional(self, value: Any) -> Any:
        """``value`` where the choice is yes, ``None`` (no property) where it is no.

        Decided at deploy time, ``Fn::If`` with ``AWS::NoValue``, typed like ``value`` (a string,
        list or number token) so that it fits the property ``value`` would fill.
        """
        if isinstance(self.value, bool):
            return value if self.value else None
        chosen = self.pick(value)
        if isinstance(value, str):
            return Token.as_string(chosen)
        if isinstance(value, list):
            return Token.as_list(chosen)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return Token.as_number(chosen)
        return chosen

    def guard(self, *constructs: IConstruct) -> None:
        """Create every CloudFormation resource (and output) of ``constructs`` only when the choice is yes.

        A resource that already has a condition gets both (``Fn::And``).
        """
        if isinstance(self.value, bool):
            if not self.value:
                raise ValueError("a resource guarded by a choice known to be no should not exist")
            return
        for output in (node for construct in constructs for node in construct.node.find_all()):
            if isinstance(output, CfnOutput):
                output.condition = self._and(output.condition)
        for resource in _resources(constructs):
            resource.cfn_options.condition = self._and(resource.cfn_options.condition)

    def _and(self, existing: CfnCondition | None) -> CfnCondition:
        """The condition of something that has ``existing`` (or none) and is guarded by this flag too."""
        assert isinstance(self.value, CfnCondition)
        if existing is None or existing.node.path == self.value.node.path:
            return self.value
        combined = (_named(existing) & self).value
        assert isinstance(combined, CfnCondition)
        return combined

    def __and__(self, other: Flag) -> Flag:
        return _combine(self, other, "And")

    def __or__(self, other: Flag) -> Flag:
        return _combine(self, other, "Or")

    def __invert__(self) -> Flag:
        if isinstance(self.value, bool):
            return Flag(not self.value)
        return Flag.condition(self.value, f"Not{self.name}", Fn.condition_not(_expression(self.value)))

    def __repr__(self) -> str:
        return f"Flag({self.value if self.known else self.name})"


YES = Flag(True)
NO = Flag(False)


def _resources(constructs: Iterable[IConstruct]) -> list[CfnResource]:
    return [node for construct in constructs for node in construct.node.find_all() if isinstance(node, CfnResource)]


def _expression(condition: CfnCondition) -> ICfnConditionExpression:
    # A CfnCondition is a condition expression (it renders as {"Condition": name}); the stubs miss it.
    return cast(ICfnConditionExpression, condition)


def _named(condition: CfnCondition) -> Flag:
    return Flag(condition, condition.node.id)


def _combine(first: Flag, second: Flag, function: str) -> Flag:
    if isinstance(first.value, bool) and isinstance(second.value, bool):
        both = [first.value, second.value]
        return Flag(all(both) if function == "And" else any(both))
    # A choice known at synth time decides alone, or leaves the other one.
    for known, other in ((first, second), (second, first)):
        if isinstance(known.value, bool):
            if function == "And":
                return other if known.value else NO
            return YES if known.value else other
    assert isinstance(first.value, CfnCondition) and isinstance(second.value, CfnCondition)
    expression = (Fn.condition_and if function == "And" else Fn.condition_or)(_expression(first.value), _expression(second.value))
    return Flag.condition(first.value, f"{first.name}{function}{second.name}", expression)
