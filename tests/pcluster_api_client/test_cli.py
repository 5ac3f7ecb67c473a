"""The ``pcluster-api`` command end to end: moto's CloudFormation and STS, the local SigV4-checking API.

Stacks whose resources moto cannot model (a custom domain) use botocore's Stubber instead.
"""

from __future__ import annotations

import datetime
import json
import ssl
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.core import set_initial_no_auth_action_count

from pcluster_api_client import cli, errors, outputs, pages
from pcluster_api_client.transport import MAX_ANSWER_BYTES, Transport
from tests.pcluster_api_client.support import (
    CALLER_KEY,
    FAKE_INVOKE_URL,
    REGION,
    STACK,
    STAGE,
    FakeApi,
    assert_one_line_error,
    assumed_role,
    closed_port,
    create_stack,
    elapsed,
    full_stack,
    new_session,
    run,
    self_signed_certificate,
    serve_api,
    silent_port,
    unanswered_port,
)


@pytest.mark.usefixtures("aws")
def test_get_prints_json_signed_with_the_assumed_role(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    stack_outputs = full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/clusters", "--query-param", f"region={REGION}")

    assert (code, err) == (0, "")
    answer = json.loads(out)
    assert out == json.dumps(answer, indent=2) + "\n"
    assert answer["path"] == f"{STAGE}/v3/clusters" and answer["query"] == {"region": [REGION]}
    [seen] = api.seen
    assert seen.status == 200 and seen.access_key == answer["accessKeyId"] != CALLER_KEY
    role = assumed_role(seen.access_key)
    assert role is not None and role.role_arn == stack_outputs[outputs.USER_ROLE]
    assert "x-amz-security-token" in seen.signed_headers


@pytest.mark.usefixtures("aws")
def test_query_values_needing_escaping_are_signed(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()
    query = [("region", REGION), ("nextToken", "a b/c+d=é&~"), ("clusterStatus", "CREATE_COMPLETE")]
    query.append(("clusterStatus", "UPDATE_COMPLETE"))

    code, out, err = run(
        capsys, "--endpoint-url", api.url, "get", "/v3/clusters", *(f"--query-param={k}={v}" for k, v in query)
    )

    assert (code, err) == (0, "")
    assert json.loads(out)["query"] == {
        "region": [REGION],
        "nextToken": ["a b/c+d=é&~"],
        "clusterStatus": ["CREATE_COMPLETE", "UPDATE_COMPLETE"],
    }


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("from_file", [False, True], ids=["inline", "at-file"])
def test_post_body_is_signed(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path, from_file: bool
) -> None:
    full_stack()
    body = {"clusterName": "hpc", "clusterConfiguration": "Image:\n  Os: alinux2023\n"}
    path = tmp_path / "create.json"
    path.write_text(json.dumps(body))

    code, out, err = run(
        capsys,
        "--endpoint-url",
        api.url,
        "POST",
        "/v3/clusters",
        "--query-param",
        f"region={REGION}",
        "--body",
        f"@{path}" if from_file else json.dumps(body),
    )

    assert (code, err) == (0, "")
    answer = json.loads(out)
    assert (answer["method"], answer["body"]) == ("POST", body)
    assert "content-type" in api.seen[0].signed_headers


@pytest.mark.usefixtures("aws")
def test_wrong_caller_secret_is_refused_through_the_cli(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    full_stack()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")

    code, out, err = run(capsys, "--endpoint-url", api.url, "--no-assume-role", "GET", "/v3/clusters")

    assert code == errors.EXIT_API_ERROR
    assert_one_line_error(err, "GET /v3/clusters: HTTP 403: signature mismatch")
    assert json.loads(out) == {"message": "signature mismatch"}


@pytest.mark.usefixtures("aws")
def test_no_assume_role_signs_with_the_callers_credentials(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    create_stack({outputs.INVOKE_URL: FAKE_INVOKE_URL})

    code, out, err = run(capsys, "--endpoint-url", api.url, "--no-assume-role", "DELETE", "/v3/clusters/hpc")

    assert (code, err) == (0, "")
    assert json.loads(out)["accessKeyId"] == CALLER_KEY
    assert api.seen[0].method == "DELETE" and "x-amz-security-token" not in api.seen[0].signed_headers


# --- Pages (nextToken) ---------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_get_follows_next_token_through_empty_pages_and_merges_them(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/images/custom", "--query-param", f"region={REGION}")

    assert (code, err) == (0, "")
    assert json.loads(out) == {"images": [{"imageId": "a"}, {"imageId": "b"}]}
    # Every page is a correctly signed request of its own, with the region kept.
    assert api.tokens() == [None, "t1", "t 2/+=é"]
    assert all(seen.status == 200 and seen.query["region"] == [REGION] for seen in api.seen)


@pytest.mark.usefixtures("aws")
def test_no_paginate_prints_the_first_page_with_its_token(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "--no-paginate", "GET", "/v3/images/custom")

    assert (code, err) == (0, "")
    assert json.loads(out) == {"images": [{"imageId": "a"}], "nextToken": "t1"}
    assert api.tokens() == [None]


@pytest.mark.usefixtures("aws")
def test_the_callers_next_token_is_where_the_pages_start(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/images/custom", "--query-param", "nextToken=t1")

    assert (code, err) == (0, "")
    assert json.loads(out) == {"images": [{"imageId": "b"}]}
    assert api.tokens() == ["t1", "t 2/+=é"]


@pytest.mark.usefixtures("aws")
def test_log_events_stop_when_the_token_comes_back(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/clusters/hpc/logstreams/node")

    assert (code, err) == (0, "")
    # The end-of-stream token stays, to poll for newer events; prevToken is the first page's.
    assert json.loads(out) == {
        "events": [{"message": "1"}, {"message": "2"}],
        "nextToken": "f2",
        "prevToken": "b0",
    }
    assert api.tokens() == [None, "f1", "f2"]


@pytest.mark.usefixtures("aws")
def test_max_pages_bounds_the_pages_and_says_so(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "--max-pages", "3", "GET", "/v3/endless")

    assert code == 0
    assert json.loads(out) == {"items": [0, 1, 2], "nextToken": "3"}
    assert err.startswith("pcluster-api: warning: stopped after 3 pages") and err.count("\n") == 1, err
    assert len(api.seen) == 3


@pytest.mark.usefixtures("aws")
def test_pages_are_bounded_by_default(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, _ = run(capsys, "--endpoint-url", api.url, "--no-assume-role", "GET", "/v3/endless")

    assert code == 0
    assert len(api.seen) == pages.DEFAULT_MAX_PAGES
    assert json.loads(out)["nextToken"] == str(pages.DEFAULT_MAX_PAGES)


@pytest.mark.usefixtures("aws")
def test_an_error_on_a_later_page_is_reported_with_its_page(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/clusters/hpc/stackevents")

    assert code == errors.EXIT_API_ERROR
    assert_one_line_error(err, "GET /v3/clusters/hpc/stackevents (page 2): HTTP 429: Too Many Requests")
    assert json.loads(out) == {"message": "Too Many Requests"}


@pytest.mark.usefixtures("aws")
def test_a_later_page_that_is_not_json_is_an_error(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/text-after-first-page")

    assert (code, out) == (errors.EXIT_API_ERROR, "")
    assert_one_line_error(err, "GET /v3/text-after-first-page (page 2): the answer is not a JSON object")


@pytest.mark.usefixtures("aws")
def test_only_get_answers_are_followed(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()
    api.script[("POST", "/v3/images/custom")] = [(200, {"images": [], "nextToken": "t1"})]

    code, out, _ = run(capsys, "--endpoint-url", api.url, "POST", "/v3/images/custom", "--body", "{}")

    assert code == 0
    assert json.loads(out)["nextToken"] == "t1"
    assert len(api.seen) == 1


# --- Session name per caller -----------------------------------------------------------------------


def _use_keys(monkeypatch: pytest.MonkeyPatch, key: str, secret: str, token: str | None = None) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    if token is not None:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)


@pytest.mark.usefixtures("aws")
def test_the_role_session_is_named_after_an_iam_user(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    full_stack()
    iam = new_session().client("iam", region_name=REGION)
    iam.create_user(UserName="dana+ops@example.com", Path="/hpc/")
    key = iam.create_access_key(UserName="dana+ops@example.com")["AccessKey"]
    _use_keys(monkeypatch, key["AccessKeyId"], key["SecretAccessKey"])

    code, _, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/clusters")

    assert (code, err) == (0, "")
    assert assumed_role(api.seen[0].access_key).session_name == "dana+ops@example.com"


@pytest.mark.usefixtures("aws")
def test_the_role_session_is_named_after_the_callers_own_session(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    full_stack()
    iam = new_session().client("iam", region_name=REGION)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="hpc-portal", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    sts = new_session().client("sts", region_name=REGION)
    instance = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="i-0123456789abcdef0")["Credentials"]
    _use_keys(monkeypatch, instance["AccessKeyId"], instance["SecretAccessKey"], instance["SessionToken"])

    code, _, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/clusters")

    assert (code, err) == (0, "")
    session = assumed_role(api.seen[0].access_key)
    assert session.session_name == "i-0123456789abcdef0" and session.role_arn != role["Arn"]


@pytest.mark.usefixtures("aws")
def test_session_name_chooses_the_role_session_name(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, _, err = run(capsys, "--endpoint-url", api.url, "--session-name", "ci.pipeline-42", "GET", "/v3/clusters")

    assert (code, err) == (0, "")
    assert assumed_role(api.seen[0].access_key).session_name == "ci.pipeline-42"


# --- Where the requests go ------------------------------------------------------------------------


@pytest.fixture
def sent_urls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs the command sends requests to, each answered ``{}`` without any network."""
    urls: list[str] = []

    def send(self: Transport, request: Any) -> tuple[int, bytes]:
        urls.append(request.url)
        return 200, b"{}"

    monkeypatch.setattr(Transport, "send", send)
    return urls


@pytest.mark.usefixtures("aws")
def test_requests_go_to_the_invoke_url_output(sent_urls: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, _, err = run(capsys, "GET", "/v3/clusters", "--query-param", f"region={REGION}")

    assert (code, err) == (0, "")
    assert sent_urls == [f"{FAKE_INVOKE_URL}/v3/clusters?region={REGION}"]


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    "url",
    [
        "http://abc123.execute-api.eu-west-1.amazonaws.com/prod",
        "https://collector.example.com/prod",
        "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
        "https://abc123.execute-api.eu-west-1.amazonaws.com.example.net/prod",
    ],
    ids=["plain-http", "other-host", "other-region", "look-alike"],
)
def test_an_invoke_url_output_that_is_not_the_stacks_api_is_refused(
    sent_urls: list[str], capsys: pytest.CaptureFixture[str], url: str
) -> None:
    create_stack({outputs.INVOKE_URL: url})

    code, out, err = run(capsys, "--no-assume-role", "GET", "/v3/clusters")

    assert (code, out) == (errors.EXIT_AWS_ERROR, "")
    assert_one_line_error(err, f"output ParallelClusterApiInvokeUrl of stack '{STACK}'", f"refusing {url!r}")
    assert sent_urls == []


class StubbedSession(boto3.session.Session):
    """A boto3 session whose clients answer from botocore Stubbers queued per service."""

    def __init__(self, responses: dict[str, list[tuple[str, dict[str, Any], dict[str, Any] | None]]]) -> None:
        super().__init__(botocore_session=new_session()._session)
        self.responses = responses
        self.stubbers: list[Stubber] = []

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        client = super().client(service_name, *args, **kwargs)
        stubber = Stubber(client)
        for operation, response, expected in self.responses.pop(service_name):
            stubber.add_response(operation, response, expected)
        stubber.activate()
        self.stubbers.append(stubber)
        return client


STACK_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/{STACK}/1"
NESTED_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/{STACK}-Api-1/2"
ROLE_ARN = "arn:aws:iam::123456789012:role/ParallelClusterApi-UserRole"


def _custom_domain_stack(url: str, domain_in_nested_stack: str) -> dict[str, list[Any]]:
    stack = {
        "StackName": STACK,
        "StackId": STACK_ID,
        "StackStatus": "UPDATE_COMPLETE",
        "CreationTime": "2026-01-01T00:00:00Z",
        "Outputs": [
            {"OutputKey": outputs.INVOKE_URL, "OutputValue": url},
            {"OutputKey": outputs.USER_ROLE, "OutputValue": ROLE_ARN},
        ],
    }

    def resource(logical_id: str, resource_type: str, physical_id: str) -> dict[str, Any]:
        return {
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": physical_id,
            "ResourceType": resource_type,
            "ResourceStatus": "CREATE_COMPLETE",
            "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
        }

    return {
        "cloudformation": [
            ("describe_stacks", {"Stacks": [stack]}, {"StackName": STACK}),
            (
                "list_stack_resources",
                {"StackResourceSummaries": [resource("Api", "AWS::CloudFormation::Stack", NESTED_ID)]},
                {"StackName": STACK_ID},
            ),
            (
                "list_stack_resources",
                {"StackResourceSummaries": [resource("Domain", "AWS::ApiGateway::DomainName", domain_in_nested_stack)]},
                {"StackName": NESTED_ID},
            ),
        ],
    }


@pytest.mark.usefixtures("clean_env")
def test_the_stacks_custom_domain_is_accepted_and_the_session_named_after_the_caller(
    sent_urls: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    responses = _custom_domain_stack("https://pcluster.example.com", "pcluster.example.com")
    credentials = {"AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": datetime.datetime(2099, 1, 1, 1, tzinfo=datetime.UTC)}
    caller = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/jane.doe@example.com"
    responses["sts"] = [
        ("get_caller_identity", {"UserId": "AROA:jane", "Account": "123456789012", "Arn": caller}, {}),
        (
            "assume_role",
            {"Credentials": credentials},
            {"RoleArn": ROLE_ARN, "RoleSessionName": "jane.doe@example.com"},
        ),
    ]
    session = StubbedSession(responses)

    code, out, err = run(capsys, "GET", "/v3/clusters", session=session)

    assert (code, out, err) == (0, "{}\n", "")
    assert sent_urls == ["https://pcluster.example.com/v3/clusters"]
    for stubber in session.stubbers:
        stubber.assert_no_pending_responses()


@pytest.mark.usefixtures("clean_env")
def test_a_domain_that_is_not_the_stacks_is_refused(sent_urls: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    session = StubbedSession(_custom_domain_stack("https://collector.example.com", "pcluster.example.com"))

    code, out, err = run(capsys, "--no-assume-role", "GET", "/v3/clusters", session=session)

    assert (code, out) == (errors.EXIT_AWS_ERROR, "")
    assert_one_line_error(err, "refusing 'https://collector.example.com'", "custom domain of the stack")
    assert sent_urls == []


# --- Errors before and around the call --------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_missing_stack(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--region", "us-east-1", "--endpoint-url", api.url, "GET", "/v3/clusters")

    assert (code, out) == (errors.EXIT_AWS_ERROR, "")
    assert_one_line_error(err, f"stack '{STACK}' not found in us-east-1")
    assert api.seen == []


@pytest.mark.usefixtures("aws")
def test_missing_user_role_output(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    create_stack({outputs.INVOKE_URL: FAKE_INVOKE_URL})

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/clusters")

    assert (code, out) == (errors.EXIT_AWS_ERROR, "")
    assert_one_line_error(err, "has no output 'ParallelClusterApiUserRole'", "--no-assume-role")
    assert api.seen == []


@pytest.mark.usefixtures("aws")
def test_missing_invoke_url_output(capsys: pytest.CaptureFixture[str]) -> None:
    create_stack({outputs.USER_ROLE: {"Fn::GetAtt": ["UserRole", "Arn"]}})

    code, out, err = run(capsys, "GET", "/v3/clusters")

    assert (code, out) == (errors.EXIT_AWS_ERROR, "")
    assert_one_line_error(err, f"stack '{STACK}' (CREATE_COMPLETE) has no output 'ParallelClusterApiInvokeUrl'")


@pytest.mark.usefixtures("aws")
def test_api_error_prints_status_and_message(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/clusters/missing")
    assert code == errors.EXIT_API_ERROR
    assert_one_line_error(err, "GET /v3/clusters/missing: HTTP 404: Cluster 'missing' does not exist")
    assert json.loads(out) == {"message": "Cluster 'missing' does not exist"}

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/gateway-error")
    assert (code, out) == (errors.EXIT_API_ERROR, "")
    assert_one_line_error(err, "HTTP 502: Bad Gateway")


@pytest.mark.usefixtures("aws")
def test_redirects_are_not_followed(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, _, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/redirect")

    assert code == errors.EXIT_API_ERROR
    assert_one_line_error(err, "HTTP 307: moved")
    assert api.paths() == [f"{STAGE}/v3/redirect"]


@pytest.mark.usefixtures("aws")
def test_access_denied_when_assuming_the_role(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    full_stack()
    iam = new_session().client("iam", region_name=REGION)
    iam.create_user(UserName="reader")
    # sts:GetCallerIdentity needs no permission in AWS; moto's enforcement asks for one.
    statement = {"Effect": "Allow", "Action": ["cloudformation:DescribeStacks", "sts:GetCallerIdentity"], "Resource": "*"}
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    iam.put_user_policy(UserName="reader", PolicyName="describe", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    _use_keys(monkeypatch, key["AccessKeyId"], key["SecretAccessKey"])

    # From here on moto enforces IAM policies.
    code, out, err = set_initial_no_auth_action_count(0)(run)(capsys, "--endpoint-url", api.url, "GET", "/v3/clusters")

    assert (code, out) == (errors.EXIT_AWS_ERROR, "")
    assert_one_line_error(err, "AssumeRole: AccessDenied: ", "not authorized to perform: sts:AssumeRole")
    assert api.seen == []


@pytest.mark.usefixtures("aws")
def test_no_credentials(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    full_stack()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    code, out, err = run(capsys, "GET", "/v3/clusters")

    assert (code, out) == (errors.EXIT_AWS_ERROR, "")
    assert_one_line_error(err, "Unable to locate credentials")


@pytest.mark.usefixtures("aws")
def test_unreachable_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()
    port = closed_port()

    code, out, err = run(capsys, "--endpoint-url", f"http://127.0.0.1:{port}/prod", "GET", "/v3/clusters")

    assert (code, out) == (errors.EXIT_UNREACHABLE, "")
    assert_one_line_error(err, f"cannot reach http://127.0.0.1:{port}/prod/v3/clusters")


@pytest.mark.usefixtures("aws")
def test_no_region(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    code, out, err = run(capsys, "GET", "/v3/clusters")

    assert (code, out) == (errors.EXIT_USAGE, "")
    assert_one_line_error(err, "no region")


# --- Time and size bounds ----------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_connect_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    with unanswered_port() as port:
        (code, out, err), seconds = elapsed(
            run, capsys, "--endpoint-url", f"http://127.0.0.1:{port}/prod", "--connect-timeout", "0.5", "GET", "/v3/clusters"
        )

    assert (code, out) == (errors.EXIT_UNREACHABLE, "")
    assert_one_line_error(err, f"cannot reach http://127.0.0.1:{port}/prod/v3/clusters", "timed out")
    assert 0.4 < seconds < 3


@pytest.mark.usefixtures("aws")
def test_the_tls_handshake_counts_as_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    with silent_port() as port:
        url = f"https://127.0.0.1:{port}/prod"
        (code, out, err), seconds = elapsed(
            run, capsys, "--endpoint-url", url, "--connect-timeout", "0.5", "--read-timeout", "5", "GET", "/v3/clusters"
        )

    assert (code, out) == (errors.EXIT_UNREACHABLE, "")
    assert_one_line_error(err, f"cannot reach {url}/v3/clusters", "timed out")
    assert seconds < 3


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("trusted", [False, True], ids=["unknown-certificate", "trusted-certificate"])
def test_the_apis_certificate_is_verified(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, trusted: bool
) -> None:
    full_stack()
    certificate, key = self_signed_certificate(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificate, key)
    if trusted:
        # OpenSSL's default trust store, which the command uses, is this file.
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))

    with serve_api(tls) as api:
        code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/clusters")

    if trusted:
        assert (code, err) == (0, "")
        assert json.loads(out)["path"] == f"{STAGE}/v3/clusters" and api.seen[0].status == 200
    else:
        assert (code, out) == (errors.EXIT_UNREACHABLE, "")
        assert_one_line_error(err, f"cannot reach {api.url}/v3/clusters", "CERTIFICATE_VERIFY_FAILED")
        assert api.seen == []


@pytest.mark.usefixtures("aws")
def test_read_timeout(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    (code, out, err), seconds = elapsed(
        run, capsys, "--endpoint-url", api.url, "--no-assume-role", "--read-timeout", "0.5", "GET", "/v3/slow"
    )

    assert (code, out) == (errors.EXIT_UNREACHABLE, "")
    assert_one_line_error(err, f"cannot reach {api.url}/v3/slow: timed out")
    assert 0.4 < seconds < 3


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(("timeout", "exit_code"), [("10", errors.EXIT_OK), ("0.5", errors.EXIT_UNREACHABLE)])
def test_a_trickling_answer_must_end_in_time(
    api: FakeApi, capsys: pytest.CaptureFixture[str], timeout: str, exit_code: int
) -> None:
    """Bytes every 0.1 s, about 2.6 s in all: no read waits 0.5 s, yet the answer is late."""
    full_stack()
    argv = ["--endpoint-url", api.url, "--no-assume-role", "--connect-timeout", "0.5", "--read-timeout", timeout]

    (code, out, err), seconds = elapsed(run, capsys, *argv, "GET", "/v3/drip")

    assert code == exit_code
    if exit_code == errors.EXIT_OK:
        assert json.loads(out) == {"pad": "x" * 15} and seconds > 2
    else:
        assert_one_line_error(err, "timed out")
        assert seconds < 2.5


@pytest.mark.usefixtures("aws")
def test_an_answer_at_the_size_limit_is_read(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "--no-assume-role", "GET", "/v3/at-limit")

    assert (code, err) == (0, "")
    assert len(json.dumps(json.loads(out), separators=(", ", ": "))) == MAX_ANSWER_BYTES


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("route", ["/v3/over-limit-declared", "/v3/over-limit-undeclared"])
def test_an_answer_over_the_size_limit_is_refused(api: FakeApi, capsys: pytest.CaptureFixture[str], route: str) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "--no-assume-role", "GET", route)

    assert (code, out) == (errors.EXIT_API_ERROR, "")
    assert_one_line_error(err, f"the answer of {api.url}{route} is larger than {MAX_ANSWER_BYTES} bytes")


# --- Command line -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--query-param", "region", "GET", "/v3/clusters"], "--query-param 'region': expected KEY=VALUE"),
        (["GET", "/v3/clusters", "--query", "region"], "--query 'region': expected KEY=VALUE"),
        (["--body", "{not json", "POST", "/v3/clusters"], "--body is not valid JSON"),
        (["--body", "@/nonexistent/create.json", "POST", "/v3/clusters"], "--body: cannot read"),
        (["GET", "v3/clusters"], "must start with '/'"),
        (["GET", "/v3/clusters?region=eu-west-1"], "query parameters go in --query-param"),
        (["--endpoint-url", "http://example.com/prod", "GET", "/v3/clusters"], "must be called over https"),
        (["--endpoint-url", "http://localhost:8080/prod", "GET", "/v3/clusters"], "must be called over https"),
        (["--endpoint-url", "ftp://127.0.0.1/prod", "GET", "/v3/clusters"], "must be called over https"),
        (["--endpoint-url", "https://x.example.com/prod?a=b", "GET", "/v3/clusters"], "not a base URL"),
        (["--endpoint-url", "https://u@x.example.com/prod", "GET", "/v3/clusters"], "not a base URL"),
        (["--session-name", "Jane Doe", "GET", "/v3/clusters"], "--session-name 'Jane Doe': expected 2 to 64"),
        (["--session-name", "j", "GET", "/v3/clusters"], "--session-name 'j': expected 2 to 64"),
        (["--session-name", "x" * 65, "GET", "/v3/clusters"], "expected 2 to 64 characters"),
        (["--session-name", "ci", "--no-assume-role", "GET", "/v3/clusters"], "drop --no-assume-role"),
    ],
)
@pytest.mark.usefixtures("aws")
def test_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str], fragment: str) -> None:
    code, out, err = run(capsys, *args)

    assert (code, out) == (errors.EXIT_USAGE, "")
    assert_one_line_error(err, fragment)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["TRACE", "/v3/clusters"], "invalid choice: 'TRACE'"),
        (["--max-pages", "0", "GET", "/v3/clusters"], "--max-pages: expected a whole number of at least 1"),
        (["--read-timeout", "0", "GET", "/v3/clusters"], "--read-timeout: expected a positive number of seconds"),
        (["--connect-timeout", "nan", "GET", "/v3/clusters"], "--connect-timeout: expected a positive number"),
    ],
)
def test_argparse_rejects_bad_arguments(capsys: pytest.CaptureFixture[str], args: list[str], fragment: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--stack-name", STACK, *args])

    assert exit_info.value.code == errors.EXIT_USAGE
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
