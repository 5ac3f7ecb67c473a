"""What CloudFormation makes of a template for given parameter values, as far as the tests need it.

It checks the values against the parameters' constraints and the template's rules, evaluates the
conditions, keeps the resources and outputs whose condition holds, and evaluates the intrinsic
functions CDK emits (``Fn::If`` and ``AWS::NoValue`` included) as the CloudFormation user guide
describes them. References to resources stay symbolic (``<LogicalId>``, ``<LogicalId.Attribute>``),
so two templates can be compared property by property.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = object()


class Refused(Exception):
    """CloudFormation would refuse the parameter values (a constraint or a rule)."""


@dataclass
class Deployment:
    """A template, its parameter values and pseudo parameters: what a stack would hold."""

    template: dict[str, Any]
    values: dict[str, str] = field(default_factory=dict)
    pseudo: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        declared = self.template.get("Parameters", {})
        unknown = set(self.values) - set(declared)
        if unknown:
            raise KeyError(f"no such parameters: {sorted(unknown)}")
        self.parameters = {}
        for name, parameter in declared.items():
            if name in self.values:
                value = self.values[name]
            elif "Default" in parameter:
                value = str(parameter["Default"])
            else:
                raise Refused(f"{name}: a value is required")
            self.parameters[name] = value
        self._conditions: dict[str, bool] = {}

    def check(self) -> None:
        """Refuse values as CloudFormation does: each parameter's constraints, then the rules."""
        for name, parameter in self.template.get("Parameters", {}).items():
            value = self.parameters[name]
            # CloudFormation matches AllowedPattern against the whole value (Java regular expressions).
            if "AllowedPattern" in parameter and not re.fullmatch(parameter["AllowedPattern"], value, flags=re.ASCII):
                raise Refused(f"{name}: {parameter.get('ConstraintDescription', 'pattern')}")
            if "AllowedValues" in parameter and value not in [str(allowed) for allowed in parameter["AllowedValues"]]:
                raise Refused(f"{name}: one of {parameter['AllowedValues']}")
            if "MaxLength" in parameter and len(value) > int(parameter["MaxLength"]):
                raise Refused(f"{name}: at most {parameter['MaxLength']} characters")
        for rule in self.template.get("Rules", {}).values():
            if "RuleCondition" in rule and not self.truth(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not self.truth(assertion["Assert"]):
                    raise Refused(assertion.get("AssertDescription", "a rule"))

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self.truth(self.template["Conditions"][name])
        return self._conditions[name]

    def truth(self, expression: Any) -> bool:
        (function, argument), = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":
            first, second = (self.value(item) for item in argument)
            return str(first) == str(second)
        if function == "Fn::Not":
            return not self.truth(argument[0])
        if function == "Fn::And":
            return all(self.truth(item) for item in argument)
        if function == "Fn::Or":
            return any(self.truth(item) for item in argument)
        raise NotImplementedError(function)

    def value(self, value: Any, *, select: bool = True) -> Any:
        """``value`` with its intrinsic functions evaluated; ``AWS::NoValue`` removes the item.

        ``select=False`` leaves ``Fn::Select`` alone: the references in its list (which order
        creation, as references in properties do) stay visible.
        """
        if isinstance(value, list):
            items = [self.value(item, select=select) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (function, argument), = value.items()
            if function == "Ref":
                if argument == "AWS::NoValue":
                    return NO_VALUE
                if argument in self.parameters:
                    return self.parameters[argument]
                return self.pseudo.get(argument, f"<{argument}>")
            if function == "Fn::GetAtt":
                return f"<{argument[0]}.{argument[1]}>"
            if function == "Fn::If":
                name, yes, no = argument
                return self.value(yes if self.condition(name) else no, select=select)
            if function == "Fn::Join":
                separator, items = argument
                parts = self.value(items, select=select)
                if not select and not all(isinstance(part, str) for part in parts):
                    return {"Fn::Join": [separator, parts]}
                return separator.join(str(part) for part in parts)
            if function == "Fn::Split":
                separator, text = argument
                return str(self.value(text, select=select)).split(separator)
            if function == "Fn::Select":
                if not select:
                    return {"Fn::Select": self.value(argument, select=False)}
                index, items = argument
                chosen, position = self.value(items), int(self.value(index))
                # A part of a symbolic attribute (e.g. the tag of <Image.ImageUri>) stays symbolic.
                return chosen[position] if position < len(chosen) else f"<part {position} of {chosen}>"
            if function == "Fn::Sub" and isinstance(argument, str):
                return re.sub(r"\$\{([^}!]+)\}", lambda name: str(self.value({"Ref": name.group(1)})), argument)
        items = {key: self.value(item, select=select) for key, item in value.items()}
        return {key: item for key, item in items.items() if item is not NO_VALUE}

    def resources(self) -> dict[str, dict[str, Any]]:
        """The resources CloudFormation creates, with their properties evaluated."""
        created = {}
        for logical_id, resource in self.template["Resources"].items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            created[logical_id] = {
                "Type": resource["Type"],
                **{
                    key: self.value(resource[key])
                    for key in ("Properties", "DeletionPolicy", "UpdateReplacePolicy")
                    if key in resource
                },
            }
        return created

    def order(self) -> dict[str, set[str]]:
        """Which resources each created resource is ordered after: DependsOn and property references."""
        created = self.resources()
        edges: dict[str, set[str]] = {}
        for logical_id in created:
            resource = self.template["Resources"][logical_id]
            depends_on = resource.get("DependsOn", [])
            after = set([depends_on] if isinstance(depends_on, str) else depends_on)
            after |= _references(self.value(resource.get("Properties", {}), select=False))
            edges[logical_id] = {target for target in after if target in created}
        return edges

    def outputs(self) -> dict[str, dict[str, Any]]:
        return {
            name: self.value({key: item for key, item in output.items() if key != "Condition"})
            for name, output in self.template.get("Outputs", {}).items()
            if "Condition" not in output or self.condition(output["Condition"])
        }


def _references(value: Any) -> set[str]:
    """The resources an evaluated value names (``<LogicalId>`` or ``<LogicalId.Attribute>``)."""
    if isinstance(value, str):
        return set(re.findall(r"<([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?>", value))
    if isinstance(value, list):
        return set().union(*(_references(item) for item in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(_references(item) for item in value.values())) if value else set()
    return set()
