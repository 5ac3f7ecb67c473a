"""Which invoke URLs the command signs requests for: the stack's API endpoint or custom domain, nothing else."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pcluster_api_client.endpoint import check_invoke_url, custom_domains, dns_suffix

REGION = "eu-west-1"
VPCE = "vpce-0123456789abcdef0"


def no_domains() -> set[str]:
    return set()


def domains_must_not_be_read() -> set[str]:
    raise AssertionError("an execute-api URL needs no ListStackResources call")


@pytest.mark.parametrize(
    ("url", "region", "expected"),
    [
        (f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com/prod", REGION, None),
        (f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com/prod/", REGION, f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com/prod"),
        (f"https://a1b2c3d4e5-{VPCE}.execute-api.{REGION}.amazonaws.com/prod", REGION, None),
        ("https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/prod", "cn-north-1", None),
        ("https://a1b2c3d4e5.execute-api.us-gov-west-1.amazonaws.com/prod", "us-gov-west-1", None),
        (f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com/v3_stage-2", REGION, None),
    ],
    ids=["regional", "trailing-slash", "private", "china", "govcloud", "other-stage"],
)
def test_api_gateway_endpoints_of_the_region_are_accepted(url: str, region: str, expected: str | None) -> None:
    assert check_invoke_url(url, region=region, stack_domains=domains_must_not_be_read) == (expected or url)


@pytest.mark.parametrize(
    ("url", "region"),
    [
        (f"http://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com/prod", REGION),
        ("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod", REGION),
        ("https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com/prod", "cn-north-1"),
        (f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com.cn/prod", REGION),
        (f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com.example.net/prod", REGION),
        (f"https://a1b2c3d4e5-evil.execute-api.{REGION}.amazonaws.com/prod", REGION),
        (f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com@example.net/prod", REGION),
        (f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com:8443/prod", REGION),
        (f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com", REGION),
        (f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com/prod/v3", REGION),
        (f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com/prod?stage=x", REGION),
        (f"https://example.net/a1b2c3d4e5.execute-api.{REGION}.amazonaws.com/prod", REGION),
        ("https://collector.example.net", REGION),
        ("https://127.0.0.1/prod", REGION),
    ],
    ids=[
        "plain-http",
        "other-region",
        "wrong-suffix-for-china",
        "china-suffix-elsewhere",
        "look-alike-suffix",
        "not-a-vpce-id",
        "user-info",
        "port",
        "no-stage",
        "path-beyond-stage",
        "query",
        "host-in-path",
        "other-host",
        "ip-address",
    ],
)
def test_other_urls_are_refused(url: str, region: str) -> None:
    with pytest.raises(ValueError, match="refusing|not a base URL"):
        check_invoke_url(url, region=region, stack_domains=no_domains)


def test_the_refusal_names_the_expected_forms() -> None:
    with pytest.raises(ValueError) as refusal:
        check_invoke_url("https://collector.example.net", region="cn-north-1", stack_domains=no_domains)

    assert str(refusal.value) == (
        "refusing 'https://collector.example.net': expected https://<api id>.execute-api.cn-north-1."
        "amazonaws.com.cn/<stage> (or its private form) or https://<custom domain of the stack>"
    )


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://pcluster.example.com", True),
        ("https://pcluster.example.com/", True),
        ("https://PCluster.Example.com", True),
        ("https://pcluster.example.com/prod", False),
        ("https://api.pcluster.example.com", False),
        ("https://example.com", False),
    ],
)
def test_the_stacks_custom_domain_is_accepted_at_its_root_only(url: str, accepted: bool) -> None:
    def stack_domains() -> set[str]:
        return {"pcluster.example.com"}

    if accepted:
        assert check_invoke_url(url, region=REGION, stack_domains=stack_domains) == url.rstrip("/")
    else:
        with pytest.raises(ValueError, match="refusing"):
            check_invoke_url(url, region=REGION, stack_domains=stack_domains)


def test_dns_suffix_is_the_partitions() -> None:
    assert [dns_suffix(region) for region in ("eu-west-1", "cn-northwest-1", "us-gov-east-1")] == [
        "amazonaws.com",
        "amazonaws.com.cn",
        "amazonaws.com",
    ]


def _summary(logical_id: str, resource_type: str, physical_id: str, status: str = "CREATE_COMPLETE") -> dict[str, Any]:
    return {
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical_id,
        "ResourceType": resource_type,
        "ResourceStatus": status,
        "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
    }


def test_custom_domains_are_read_from_the_stack_and_its_nested_stacks() -> None:
    cloudformation = boto3.client(
        "cloudformation", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    nested = f"arn:aws:cloudformation:{REGION}:123456789012:stack/Parent-Api-1/2"
    with Stubber(cloudformation) as stubber:
        # Two pages of the parent stack, then the nested stack.
        stubber.add_response(
            "list_stack_resources",
            {
                "StackResourceSummaries": [
                    _summary("Old", "AWS::ApiGateway::DomainName", "old.example.com", "DELETE_COMPLETE"),
                    _summary("Role", "AWS::IAM::Role", "ci-role"),
                ],
                "NextToken": "page-2",
            },
            {"StackName": "Parent"},
        )
        stubber.add_response(
            "list_stack_resources",
            {"StackResourceSummaries": [_summary("Api", "AWS::CloudFormation::Stack", nested)]},
            {"StackName": "Parent", "NextToken": "page-2"},
        )
        stubber.add_response(
            "list_stack_resources",
            {"StackResourceSummaries": [_summary("Domain", "AWS::ApiGateway::DomainName", "HPC.example.com")]},
            {"StackName": nested},
        )

        domains = custom_domains(cloudformation, "Parent")

        stubber.assert_no_pending_responses()
    assert domains == {"hpc.example.com"}
