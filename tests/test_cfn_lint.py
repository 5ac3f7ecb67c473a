"""cfn-lint, which knows every resource's schema, on every configuration we synthesize."""

from __future__ import annotations

import json

import pytest

from tests.conftest import CONFIGURATIONS, TEST_REGION, synthesize
from tests.lint import lint

# W3005 (a DependsOn that a reference already implies) comes from CDK's own L2 constructs.
ACCEPTED_RULES = {"W3005"}


# The default template is also checked against the China and GovCloud partitions.
EVERY_PARTITION = (TEST_REGION, "cn-north-1", "us-gov-west-1")


def findings(template: dict, regions: tuple[str, ...] = (TEST_REGION,)) -> list[str]:
    return [f"{rule} {message}" for rule, message in lint(template, regions) if rule not in ACCEPTED_RULES]


@pytest.mark.parametrize("configuration", sorted(CONFIGURATIONS))
def test_template_has_no_cfn_lint_error_or_warning(configuration):
    assert findings(synthesize(configuration).template) == []


@pytest.mark.parametrize("region", [TEST_REGION, None])
def test_default_template_is_clean_in_every_partition(region):
    assert findings(synthesize("default", region=region).template, EVERY_PARTITION) == []


def test_the_linter_does_report_a_broken_template():
    """The check above can fail: a wrong property type is reported."""
    broken = json.loads(json.dumps(synthesize("default").template))
    broken["Resources"]["ParallelClusterFunction"]["Properties"]["MemorySize"] = "lots"
    assert any(finding.startswith("E") for finding in findings(broken))
