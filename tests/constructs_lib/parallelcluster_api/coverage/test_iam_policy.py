"""The IAM evaluator against the IAM User Guide's own examples (quoted page names in iam_policy.py)."""

from __future__ import annotations

import pytest

from tests.constructs_lib.parallelcluster_api.coverage.iam_policy import (
    Request,
    UnsupportedPolicy,
    arn_match,
    condition_holds,
    evaluate,
)


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action="*", resource="*", condition=None, sid="S", **extra):
    statement = {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource, **extra}
    if condition:
        statement["Condition"] = condition
    return statement


def allowed(document, action, resource="*", **context):
    return evaluate([document], Request(action, resource, context)).allowed


# --- Action, NotAction, Resource, NotResource ---------------------------------------------------


def test_action_names_are_not_case_sensitive_and_take_wildcards():
    document = policy(allow("iam:*AccessKey*"), allow("s3:Get?bject"))
    assert allowed(document, "iam:CreateAccessKey")
    assert allowed(document, "IAM:listaccesskeys")
    assert allowed(document, "s3:GetObject")
    assert not allowed(document, "s3:GetObjectVersion")
    assert not allowed(document, "iam:GetRole")


def test_not_action_applies_to_every_other_action():
    document = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert allowed(document, "s3:GetObject")
    assert not allowed(document, "iam:GetRole")


def test_resources_are_case_sensitive_and_wildcards_stay_in_their_arn_segment():
    document = policy(allow("s3:*", "arn:aws:s3:::my_corporate_bucket/*"), allow("ec2:*", "arn:aws:ec2:*:111122223333:instance/*"))
    assert allowed(document, "s3:GetObject", "arn:aws:s3:::my_corporate_bucket/a/b.txt")
    assert not allowed(document, "s3:GetObject", "arn:aws:s3:::My_Corporate_Bucket/a")
    assert allowed(document, "ec2:StartInstances", "arn:aws:ec2:us-east-2:111122223333:instance/i-1")
    # The Region wildcard cannot swallow the account segment.
    assert not allowed(document, "ec2:StartInstances", "arn:aws:ec2:us-east-2:999999999999:x:111122223333:instance/i-1")


def test_the_resource_segment_holds_colons():
    document = policy(allow("logs:*", "arn:aws:logs:*:111122223333:log-group:/aws/lambda/fn-*"))
    assert allowed(document, "logs:GetLogEvents", "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fn-1:log-stream:s")


def test_not_resource_applies_to_every_other_resource():
    document = policy({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret*"})
    assert allowed(document, "s3:GetObject", "arn:aws:s3:::public/a")
    assert not allowed(document, "s3:GetObject", "arn:aws:s3:::secret/a")


def test_a_specific_resource_pattern_does_not_match_all_resources():
    """Actions without resource types are authorized on "*", which only Resource "*" matches."""
    document = policy(allow("fsx:*", "arn:aws:fsx:us-east-1:111122223333:*"))
    assert not allowed(document, "fsx:DescribeFileSystems", "*")
    assert allowed(policy(allow("fsx:*")), "fsx:DescribeFileSystems", "*")


def test_explicit_deny_overrides_allow_in_any_order():
    deny = {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}
    for statements in ((allow("s3:*"), deny), (deny, allow("s3:*"))):
        decision = evaluate({"P": policy(*statements)}, Request("s3:DeleteObject", "arn:aws:s3:::b/k"))
        assert (decision.allowed, decision.effect, decision.statement) == (False, "Deny", "P/NoDelete")


def test_implicit_deny_names_the_statements_that_nearly_applied():
    document = {"Cluster": policy(allow("dynamodb:GetItem", "arn:aws:dynamodb:*:111122223333:table/parallelcluster-*", sid="DynamoDB"))}
    decision = evaluate(document, Request("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:111122223333:table/other"))
    assert (decision.allowed, decision.effect, decision.statement) == (False, "ImplicitDeny", None)
    assert "Cluster/DynamoDB" in decision.reason and "table/other matches none of" in decision.reason
    assert evaluate(document, Request("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:111122223333:table/parallelcluster-x")).statement == "Cluster/DynamoDB"


def test_an_unknown_resource_is_evaluated_for_some_resource():
    document = {"P": policy(allow("s3:GetObject", "arn:aws:s3:::parallelcluster-*/*"))}
    decision = evaluate(document, Request("s3:GetObject", None))
    assert decision.allowed and not decision.resource_evaluated and "resource not known" in decision.reason
    scoped_deny = {"Sid": "D", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::secret/*"}
    decision = evaluate({"P": policy(allow("s3:*"), scoped_deny)}, Request("s3:GetObject", None))
    assert decision.allowed and "may be denied for some resources by P/D" in decision.reason
    full_deny = {"Sid": "D", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    assert not evaluate({"P": policy(allow("s3:*"), full_deny)}, Request("s3:GetObject", None)).allowed
    not_everything = {"Effect": "Allow", "Action": "s3:*", "NotResource": "*"}
    assert not evaluate([policy(not_everything)], Request("s3:GetObject", None)).allowed


# --- Condition operators: the User Guide's examples -------------------------------------------------


def test_string_equals_on_a_principal_tag():
    document = policy(allow("iam:*AccessKey*", "arn:aws:iam::111122223333:user/*", {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}))
    user = "arn:aws:iam::111122223333:user/bob"
    assert allowed(document, "iam:CreateAccessKey", user, **{"aws:PrincipalTag/job-category": "iamuser-admin"})
    assert not allowed(document, "iam:CreateAccessKey", user, **{"aws:PrincipalTag/job-category": "IAMUSER-ADMIN"})
    assert not allowed(document, "iam:CreateAccessKey", user)  # key missing: false


def test_condition_key_names_are_not_case_sensitive():
    document = policy(allow(condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    assert allowed(document, "ec2:RunInstances", **{"AWS:requestedregion": "eu-west-1"})


def test_string_like_and_ignore_case():
    assert condition_holds("StringLike", "k", ["home/*"], {"k": "home/bob/"})[0]
    assert not condition_holds("StringEquals", "k", ["home/*"], {"k": "home/bob/"})[0]
    assert condition_holds("StringEqualsIgnoreCase", "k", "ABC", {"k": "abc"})[0]
    assert not condition_holds("StringNotEqualsIgnoreCase", "k", "ABC", {"k": "abc"})[0]


def test_numeric_less_than_equals_on_max_keys():
    document = policy(allow("s3:ListBucket", "arn:aws:s3:::example_bucket", {"NumericLessThanEquals": {"s3:max-keys": "10"}}))
    assert allowed(document, "s3:ListBucket", "arn:aws:s3:::example_bucket", **{"s3:max-keys": 10})
    assert not allowed(document, "s3:ListBucket", "arn:aws:s3:::example_bucket", **{"s3:max-keys": "11"})
    assert not allowed(document, "s3:ListBucket", "arn:aws:s3:::example_bucket")
    assert condition_holds("NumericNotEquals", "n", "10", {})[0]  # negated: true on a missing key


def test_bool_deny_without_secure_transport():
    deny = {"Sid": "BooleanExample", "Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    document = policy(allow("s3:*"), deny)
    assert not allowed(document, "s3:GetObject", "arn:aws:s3:::b/k", **{"aws:SecureTransport": False})
    assert allowed(document, "s3:GetObject", "arn:aws:s3:::b/k", **{"aws:SecureTransport": "true"})


def test_arn_like_compares_segments_where_string_like_does_not():
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    assert condition_holds("StringLike", "k", pattern, {"k": value})[0]
    assert not condition_holds("ArnLike", "k", pattern, {"k": value})[0]
    assert condition_holds("ArnEquals", "k", "arn:aws:sns:*:123456789012:topic", {"k": "arn:aws:sns:us-east-1:123456789012:topic"})[0]
    assert condition_holds("ArnNotLike", "k", pattern, {})[0]  # negated: true on a missing key
    assert not arn_match("arn:aws:s3:::b*", "arn:aws:s3")


def test_if_exists_on_run_instances():
    document = policy(allow("ec2:RunInstances", "*", {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}))
    assert allowed(document, "ec2:RunInstances")  # resources without the key
    assert allowed(document, "ec2:RunInstances", **{"ec2:InstanceType": "t2.micro"})
    assert not allowed(document, "ec2:RunInstances", **{"ec2:InstanceType": "m5.large"})
    assert condition_holds("StringNotEqualsIfExists", "k", "x", {})[0]


def test_null_checks_the_absence_of_a_key():
    document = policy(allow("ec2:*", "*", {"Null": {"aws:TokenIssueTime": "true"}}))
    assert allowed(document, "ec2:DescribeInstances")
    assert not allowed(document, "ec2:DescribeInstances", **{"aws:TokenIssueTime": "2026-01-01T00:00:00Z"})
    assert condition_holds("Null", "k", "false", {"k": "v"})[0]
    assert not condition_holds("Null", "k", "false", {})[0]


def test_negated_operators_nor_their_values():
    values = ["audit", "security"]
    assert not condition_holds("StringNotEquals", "aws:PrincipalTag/role", values, {"aws:PrincipalTag/role": "audit"})[0]
    assert condition_holds("StringNotEquals", "aws:PrincipalTag/role", values, {"aws:PrincipalTag/role": "dev"})[0]
    assert condition_holds("StringNotEquals", "aws:PrincipalTag/role", values, {})[0]


def test_several_keys_and_operators_are_anded():
    condition = {
        "StringEquals": {"aws:PrincipalTag/department": "finance", "aws:PrincipalTag/role": ["audit", "security"]},
        "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::222222222222:user/*"},
    }
    document = policy(allow("s3:GetObject", "*", condition))
    good = {"aws:PrincipalTag/department": "finance", "aws:PrincipalTag/role": "security", "aws:PrincipalArn": "arn:aws:iam::222222222222:user/Mary"}
    assert allowed(document, "s3:GetObject", **good)
    assert not allowed(document, "s3:GetObject", **{**good, "aws:PrincipalTag/role": "dev"})
    assert not allowed(document, "s3:GetObject", **{**good, "aws:PrincipalArn": "arn:aws:iam::333333333333:user/Mary"})


def test_for_all_values_on_requested_attributes():
    condition = {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ["PostDateTime", "Message", "Tags"]}}
    document = policy(allow("dynamodb:GetItem", "*", condition))
    assert allowed(document, "dynamodb:GetItem", **{"dynamodb:requestedAttributes": ["PostDateTime", "Message"]})
    assert not allowed(document, "dynamodb:GetItem", **{"dynamodb:requestedAttributes": ["PostDateTime", "UserName"]})
    # "also returns true if there are no context keys in the request", or an empty set.
    assert allowed(document, "dynamodb:GetItem")
    assert allowed(document, "dynamodb:GetItem", **{"dynamodb:requestedAttributes": []})


def test_for_any_value_deny_on_put_item():
    deny = {"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": "*", "Condition": {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}}}
    document = policy(allow("dynamodb:*"), deny)
    assert not allowed(document, "dynamodb:PutItem", **{"dynamodb:requestedAttributes": ["UserName", "Message", "PostDateTime"]})
    assert allowed(document, "dynamodb:PutItem", **{"dynamodb:requestedAttributes": ["UserName"]})
    assert allowed(document, "dynamodb:PutItem")  # a missing key: ForAnyValue is false
    assert not condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["a"], {"aws:TagKeys": []})[0]


def test_for_all_values_string_not_like_deny_on_tag_keys():
    """The User Guide's table: which requests the Deny statement matches."""
    condition = ("ForAllValues:StringNotLike", "aws:TagKeys", "key1*")
    assert not condition_holds(*condition, {"aws:TagKeys": ["key1:legal"]})[0]
    assert not condition_holds(*condition, {"aws:TagKeys": ["key1:hr", "key1:personnel"]})[0]
    assert condition_holds(*condition, {"aws:TagKeys": ["key2:audit"]})[0]
    assert condition_holds(*condition, {})[0]


# --- What the evaluator refuses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement, context",
    [
        ({**allow(), "Principal": "*"}, {}),
        (allow(condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}), {}),
        (allow(condition={"StringEquals": {"aws:TagKeys": "a"}}), {"aws:TagKeys": ["a", "b"]}),
        (allow(resource="arn:aws:s3:::home/${aws:username}/*"), {}),
        (allow(condition={"ForAllValues:NullIfExists": {"k": "true"}}), {}),
        ({"Effect": "Allow", "Action": "s3:*"}, {}),
    ],
    ids=["principal", "date-operator", "multivalued-without-set-operator", "policy-variable", "null-qualified", "no-resource"],
)
def test_unsupported_policies_raise_instead_of_guessing(statement, context):
    with pytest.raises(UnsupportedPolicy):
        evaluate([policy(statement)], Request("s3:GetObject", "arn:aws:s3:::b/k", context))
