"""What CloudFormation does to a stack's resources when ``update-stack`` gives it another template.

Both stacks are given as CloudFormation holds them: each resource's type and resolved properties
(``tests/cloudformation.py`` makes them from a template and parameter values), and the outputs. The
rules, from the CloudFormation user guide ("Update behaviors of stack resources", the ``Name`` type
and the stack update's cleanup phase) and the resource schemas cfn-lint bundles:

- resources are matched by logical id; a logical id whose type changes cannot be updated;
- a resource is updated in place unless a create-only property (the schema's
  ``createOnlyProperties``) changes; then CloudFormation creates a replacement first, points every
  reference at it, and deletes the old one during cleanup, as it deletes the resources the new
  template removed. A property that names a replaced resource changes with it;
- so while the update creates new resources and replacements, every old resource still exists: one
  that takes the identity (the schema's ``primaryIdentifier``, set by the template) an old one holds
  fails, and CloudFormation rolls the stack back. That includes a custom-named resource that must be
  replaced under the same name;
- with ``UpdateReplacePolicy: Retain`` in the new template, the replaced resource is kept, outside the
  stack.

Reported as problems: a type change, a claimed identity, a resource users reference (the API behind
the invoke URL, the custom domain, the user role, the function's log group) that is replaced or
deleted, and an export whose value changes or that disappears (CloudFormation refuses that while
another stack imports it).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from stacks import outputs as output_names
from tests.cloudformation import Deployment

SCHEMA_REGION = "us-east-1"
# Outputs whose resources users and other stacks hold on to: the invoke URL (API id), the role users
# assume, and the function's logs.
REFERENCED_OUTPUTS = (output_names.INVOKE_URL, output_names.USER_ROLE, output_names.LAMBDA_LOG_GROUP)
# Types whose names IAM and DNS compare without case (and DNS without the final dot).
CASELESS = {"AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::ApiGateway::DomainName", "AWS::Route53::RecordSet"}
_REFERENCE = re.compile(r"<([A-Za-z0-9]+)((?:\.[A-Za-z0-9.]+)?)>")


@functools.cache
def _schema(resource_type: str) -> dict[str, Any] | None:
    """The resource schema of a type (None for custom resources, which have none)."""
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        return None
    schema: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(SCHEMA_REGION, resource_type).schema
    return schema


def _top_level(paths: Iterable[str]) -> list[str]:
    return [path.split("/")[2] for path in paths if path.startswith("/properties/")]


def create_only(resource_type: str) -> list[str]:
    schema = _schema(resource_type)
    return _top_level(schema.get("createOnlyProperties", [])) if schema else []


def identifier(resource_type: str) -> list[str] | None:
    """The properties that make up a resource's identity, or None when the service generates it."""
    schema = _schema(resource_type)
    if schema is None:
        return None
    names = _top_level(schema["primaryIdentifier"])
    if set(names) & set(_top_level(schema.get("readOnlyProperties", []))):
        return None
    return names


# Properties that decide an update besides the create-only and identifier ones: the names a managed
# policy and a record set group hold (their identifiers are generated), and the stage a deployment
# creates when it names one.
EXTRA_PROPERTIES = {
    "AWS::IAM::ManagedPolicy": ["ManagedPolicyName", "Path"],
    "AWS::Route53::RecordSetGroup": ["RecordSets"],
    "AWS::ApiGateway::Deployment": ["StageName"],
}


def held(resources: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each resource with only what decides an update: type, deciding properties, update policies."""
    kept: dict[str, dict[str, Any]] = {}
    for logical_id, resource in sorted(resources.items()):
        resource_type = resource["Type"]
        names = [*create_only(resource_type), *(identifier(resource_type) or []), *EXTRA_PROPERTIES.get(resource_type, [])]
        properties = {name: value for name, value in resource.get("Properties", {}).items() if name in names}
        if resource_type == "AWS::Route53::RecordSetGroup" and "RecordSets" in properties:
            properties["RecordSets"] = [
                {key: value for key, value in record.items() if key in ("Name", "Type", "SetIdentifier")}
                for record in properties["RecordSets"]
            ]
        entry: dict[str, Any] = {"Type": resource_type}
        if properties:
            entry["Properties"] = dict(sorted(properties.items()))
        for key in ("DeletionPolicy", "UpdateReplacePolicy", "NestedResources"):
            if key in resource:
                entry[key] = resource[key]
        kept[logical_id] = entry
    return kept


@dataclass(frozen=True)
class StackState:
    """A stack as CloudFormation holds it: resources (see :func:`held`) and outputs."""

    resources: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, deployment: Deployment) -> StackState:
        """What a template holds for the deployment's parameter values."""
        outputs = {
            name: {key: output[key] for key in ("Value", "Export") if key in output}
            for name, output in deployment.outputs().items()
        }
        return cls(held(deployment.resources()), outputs)

    def as_json(self) -> dict[str, Any]:
        return {"resources": self.resources, "outputs": self.outputs}


@dataclass
class Report:
    """What an update from one stack state to another does."""

    type_changes: list[str] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    #: Logical ids CloudFormation replaces, creates and deletes, and replaced ones it keeps (Retain).
    replaced: set[str] = field(default_factory=set)
    created: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    retained: set[str] = field(default_factory=set)

    @property
    def problems(self) -> list[str]:
        return [*self.type_changes, *self.claims, *self.lost, *self.exports]


class _Sides:
    """References as physical resources: an old resource kept in place is the same on both sides."""

    def __init__(self, kept: set[str]) -> None:
        self.kept = kept

    def old(self, value: Any) -> Any:
        return _map_references(value, lambda logical_id: f"{logical_id} (existing)")

    def new(self, value: Any) -> Any:
        return _map_references(
            value, lambda logical_id: f"{logical_id} (existing)" if logical_id in self.kept else f"{logical_id} (new)"
        )


def _map_references(value: Any, name: Any) -> Any:
    if isinstance(value, str):
        return _REFERENCE.sub(lambda match: f"<{name(match.group(1))}{match.group(2)}>", value)
    if isinstance(value, list):
        return [_map_references(item, name) for item in value]
    if isinstance(value, dict):
        return {key: _map_references(item, name) for key, item in value.items()}
    return value


def _normal(resource_type: str, value: Any) -> Any:
    if resource_type in CASELESS and isinstance(value, str):
        return value.lower().rstrip(".")
    return value


def claims(resource: Mapping[str, Any], physical: Any) -> list[tuple[Any, ...]]:
    """The identities a resource holds, with references made physical by ``physical``."""
    resource_type = resource["Type"]
    properties = physical(resource.get("Properties", {}))
    found: list[tuple[Any, ...]] = []
    names = identifier(resource_type)
    if names and any(name in properties for name in names):
        found.append((resource_type, *(repr(_normal(resource_type, properties.get(name, ""))) for name in names)))
    if resource_type == "AWS::IAM::ManagedPolicy" and "ManagedPolicyName" in properties:
        found.append((resource_type, repr(properties.get("Path", "/")), repr(_normal(resource_type, properties["ManagedPolicyName"]))))
    if resource_type == "AWS::Route53::RecordSetGroup":
        zone = properties.get("HostedZoneId", properties.get("HostedZoneName"))
        for record in properties.get("RecordSets", []):
            found.append(
                ("AWS::Route53::RecordSet", repr(_normal("AWS::Route53::RecordSet", record["Name"])), repr(zone),
                 repr(record["Type"]), repr(record.get("SetIdentifier", "")))
            )
    if resource_type == "AWS::ApiGateway::Deployment" and "StageName" in properties:
        # The deployment creates that stage (Deployment's StageName property).
        found.append(("AWS::ApiGateway::Stage", repr(properties["RestApiId"]), repr(properties["StageName"])))
    for nested in resource.get("NestedResources", []):
        found += claims(nested, physical)
    return found


def simulate(old: StackState, new: StackState) -> Report:
    """The update from ``old`` to ``new``, as CloudFormation performs it (see the module docstring)."""
    report = Report()
    both = [logical_id for logical_id in new.resources if logical_id in old.resources]
    report.type_changes = [
        f"{logical_id}: type {old.resources[logical_id]['Type']} becomes {new.resources[logical_id]['Type']} "
        "(CloudFormation cannot update a resource's type)"
        for logical_id in both
        if old.resources[logical_id]["Type"] != new.resources[logical_id]["Type"]
    ]
    same_type = [logical_id for logical_id in both if old.resources[logical_id]["Type"] == new.resources[logical_id]["Type"]]
    # A replacement changes what names it, so replacements spread until none is added.
    while True:
        sides = _Sides(set(same_type) - report.replaced)
        replacing = {
            logical_id
            for logical_id in sides.kept
            for name in create_only(new.resources[logical_id]["Type"])
            if sides.old(old.resources[logical_id].get("Properties", {}).get(name))
            != sides.new(new.resources[logical_id].get("Properties", {}).get(name))
        }
        if not replacing:
            break
        report.replaced |= replacing
    report.created = set(new.resources) - set(same_type)
    report.deleted = set(old.resources) - set(same_type)
    report.retained = {
        logical_id for logical_id in report.replaced if new.resources[logical_id].get("UpdateReplacePolicy") == "Retain"
    }

    holders = {
        claim: logical_id for logical_id, resource in old.resources.items() for claim in claims(resource, sides.old)
    }
    for logical_id in sorted(report.created | report.replaced):
        for claim in claims(new.resources[logical_id], sides.new):
            if claim in holders:
                report.claims.append(
                    f"{logical_id}: {'its replacement' if logical_id in report.replaced else 'the new resource'} "
                    f"claims {_describe(claim)}, which {holders[claim]} still holds"
                )

    for logical_id in sorted(referenced(old)):
        if logical_id in sides.kept:
            continue
        if logical_id in report.retained:
            continue
        fate = "replaced" if logical_id in report.replaced else "deleted"
        report.lost.append(f"{logical_id}: users reference it ({old.resources[logical_id]['Type']}), and the update {fate} it")

    new_exports = {output["Export"]["Name"]: output for output in new.outputs.values() if "Export" in output}
    for name, output in sorted(old.outputs.items()):
        if "Export" not in output:
            continue
        export = output["Export"]["Name"]
        if export not in new_exports:
            report.exports.append(f"export {export} ({name}) disappears")
        elif sides.old(output["Value"]) != sides.new(new_exports[export]["Value"]):
            report.exports.append(
                f"export {export} ({name}) changes from {sides.old(output['Value'])} to {sides.new(new_exports[export]['Value'])}"
            )
    return report


def referenced(state: StackState) -> set[str]:
    """The resources behind the outputs users read, and the custom domain of the invoke URL."""
    found: set[str] = set()
    for name in REFERENCED_OUTPUTS:
        if name in state.outputs:
            found |= {match.group(1) for match in _REFERENCE.finditer(str(state.outputs[name]["Value"]))}
    url = str(state.outputs.get(output_names.INVOKE_URL, {}).get("Value", ""))
    for logical_id, resource in state.resources.items():
        domain = resource.get("Properties", {}).get("DomainName")
        if resource["Type"] == "AWS::ApiGateway::DomainName" and isinstance(domain, str) and url == f"https://{domain}":
            found.add(logical_id)
    return found & set(state.resources)


def _describe(claim: tuple[Any, ...]) -> str:
    resource_type, *values = claim
    return f"{resource_type} {' '.join(str(value) for value in values)}"
