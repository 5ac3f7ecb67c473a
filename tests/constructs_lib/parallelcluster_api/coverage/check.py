"""The permission coverage check: every reachable AWS call of the release against the function's policies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.constructs_lib.parallelcluster_api.coverage import iam_actions, iam_policy, pcluster_calls
from tests.constructs_lib.parallelcluster_api.coverage.representatives import Variant, representative_variants
from tests.constructs_lib.parallelcluster_api.coverage.withheld import withheld

# The Region a call runs in when the API manages every Region (Region=*).
DEFAULT_CALL_REGION = "us-east-1"


@dataclass(frozen=True)
class Outcome:
    """One authorization of one call (variant), and what the policies decide."""

    call: pcluster_calls.StaticCall
    variant: str
    authorization: iam_actions.Authorization
    decision: iam_policy.Decision
    withheld: bool

    @property
    def action(self) -> str:
        return self.authorization.request.action

    def describe(self, configuration: str, version: str) -> str:
        request = self.authorization.request
        return (
            f"{self.action} denied in configuration {configuration!r} of ParallelCluster {version}: called by {self.call.wrapper} at "
            f"{self.call.site} ({self.call.service}.{self.call.operation}, {self.variant}; {self.authorization.why}); "
            f"resource {request.resource or '(not known)'}; {self.decision.reason}"
        )


def _merge(static: Mapping[str, Any], representative: Mapping[str, Any]) -> dict[str, Any]:
    return {**static, **representative}


def evaluate_release(
    policies: Mapping[str, Mapping[str, Any]],
    *,
    kinds: frozenset[str],
    region: str | None,
    account: str,
    partition: str = "aws",
    extraction: pcluster_calls.Extraction | None = None,
) -> list[Outcome]:
    """Evaluate every authorization every reachable call of the release needs.

    ``region``: the configuration's Region, or None when it manages every Region (then calls run in
    :data:`DEFAULT_CALL_REGION`).
    """
    extraction = extraction or pcluster_calls.extract()
    call_region = region or DEFAULT_CALL_REGION
    variants = representative_variants(
        pcluster_calls.release_constants(extraction.site_packages),
        version=extraction.version,
        partition=partition,
        region=call_region,
        account=account,
    )
    outcomes = []
    parsed = iam_policy.parse(policies)
    for call in extraction.reachable_calls():
        for variant in variants.get(call.wrapper) or [Variant("parameters as the code passes them")]:
            params = _merge(call.params, variant.params)
            for authorization in iam_actions.authorizations_for_call(
                call.service,
                call.operation,
                params,
                partition=partition,
                region=call_region,
                account=account,
                iam_path=variant.iam_path,
                resource=variant.resource,
                resource_tags=variant.resource_tags,
            ):
                decision = iam_policy.evaluate(parsed, authorization.request)
                outcomes.append(
                    Outcome(
                        call,
                        variant.description,
                        authorization,
                        decision,
                        withheld=not decision.allowed and withheld(authorization.request.action, kinds, wrapper=call.wrapper),
                    )
                )
    return outcomes


def gaps(outcomes: list[Outcome]) -> list[Outcome]:
    """Denied authorizations that no withheld entry covers."""
    return [outcome for outcome in outcomes if not outcome.decision.allowed and not outcome.withheld]
