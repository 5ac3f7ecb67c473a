"""The named commands' own behaviour, and the raw form's older spellings, against the local SigV4-checking API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pcluster_api_client import cli, errors
from pcluster_api_client.operations import OPERATIONS
from tests.pcluster_api_client.support import (
    REGION,
    STACK,
    STAGE,
    FakeApi,
    assert_one_line_error,
    full_stack,
    new_session,
    run,
)


@pytest.mark.usefixtures("aws")
def test_query_is_a_jmespath_expression_on_the_merged_pages(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(
        capsys, "--endpoint-url", api.url, "list-images", "--image-status", "AVAILABLE", "--query", "images[].imageId"
    )

    assert (code, err) == (0, "")
    assert out == json.dumps(["a", "b"], indent=2) + "\n"
    assert [seen.query for seen in api.seen] == [
        {"region": [REGION], "imageStatus": ["AVAILABLE"]},
        {"region": [REGION], "imageStatus": ["AVAILABLE"], "nextToken": ["t1"]},
        {"region": [REGION], "imageStatus": ["AVAILABLE"], "nextToken": ["t 2/+=é"]},
    ]


@pytest.mark.usefixtures("aws")
def test_a_query_before_the_command_works_too(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "--query", "method", "describe-cluster", "-n", "hpc")

    assert (code, err) == (0, "")
    assert json.loads(out) == "GET"


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("where", ["before", "after"])
def test_a_bad_jmespath_expression_is_refused_before_any_call(
    api: FakeApi, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    full_stack()
    query = ["--query", "clusters[?"]
    argv = [*query, "list-clusters"] if where == "before" else ["list-clusters", *query]

    code, out, err = run(capsys, "--endpoint-url", api.url, *argv)

    assert (code, out) == (errors.EXIT_USAGE, "")
    assert_one_line_error(err, "--query 'clusters[?': not a JMESPath expression")
    assert api.seen == []


@pytest.mark.usefixtures("aws")
def test_region_is_the_clusters_and_api_region_the_stacks(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()  # in REGION

    code, out, err = run(capsys, "--endpoint-url", api.url, "--api-region", REGION, "describe-cluster", "-n", "hpc", "-r", "us-east-1")
    assert (code, err) == (0, "")
    # Signed for the API's Region (the server checks it), asking for the cluster's.
    assert json.loads(out)["query"] == {"region": ["us-east-1"]} and api.seen[0].status == 200

    # Without --api-region, the stack is looked for in --region.
    code, out, err = run(capsys, "--endpoint-url", api.url, "describe-cluster", "-n", "hpc", "-r", "us-east-1")
    assert (code, out) == (errors.EXIT_AWS_ERROR, "")
    assert_one_line_error(err, f"stack '{STACK}' not found in us-east-1")


@pytest.mark.usefixtures("aws")
def test_the_stack_name_can_come_from_the_environment(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    full_stack()
    argv = ["--endpoint-url", api.url, "describe-cluster", "-n", "hpc"]

    code, out, err = cli.main(argv, session=new_session()), *capsys.readouterr()
    assert (code, out) == (errors.EXIT_USAGE, "")
    assert_one_line_error(err, f"no stack: pass --stack-name or set {cli.STACK_NAME_VARIABLE}")

    monkeypatch.setenv(cli.STACK_NAME_VARIABLE, STACK)
    code, out, err = cli.main(argv, session=new_session()), *capsys.readouterr()
    assert (code, err) == (0, "")
    assert json.loads(out)["path"] == f"{STAGE}/v3/clusters/hpc"


@pytest.mark.usefixtures("aws")
def test_connection_options_may_follow_the_command(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "describe-cluster", "-n", "hpc", "--endpoint-url", api.url, "--no-assume-role", "--debug")

    assert code == 0
    assert json.loads(out)["accessKeyId"] == "FOOBARKEY"
    assert re.fullmatch(rf"pcluster-api: debug: GET {re.escape(api.url)}/v3/clusters/hpc\?region={REGION}: HTTP 200 in \d+\.\d\d s\n", err)


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "cannot read '{path}': No such file or directory"), (b"Image: \xff\n", "'{path}' is not UTF-8 text")],
    ids=["missing", "not-utf8"],
)
def test_a_configuration_file_that_cannot_be_read(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes | None, fragment: str
) -> None:
    full_stack()
    path = tmp_path / "cluster.yaml"
    if content is not None:
        path.write_bytes(content)

    code, out, err = run(capsys, "--endpoint-url", api.url, "create-cluster", "-n", "hpc", "--cluster-configuration", str(path))

    assert (code, out) == (errors.EXIT_USAGE, "")
    assert_one_line_error(err, "--cluster-configuration: " + fragment.format(path=path))
    assert api.seen == []


@pytest.mark.usefixtures("aws")
def test_raw_options_do_not_go_with_a_command(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "--body", "{}", "describe-cluster", "-n", "hpc")

    assert (code, out) == (errors.EXIT_USAGE, "")
    assert_one_line_error(err, "--body and --query-param are for raw requests; describe-cluster takes flags")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["describe-cluster"], "the following arguments are required: -n/--cluster-name"),
        (["create-cluster", "-n", "hpc"], "the following arguments are required: -c/--cluster-configuration"),
        (["create-cluster", "-n", "hpc", "-c", "c.yaml", "--dryrun", "yes"], "--dryrun: expected true or false, got 'yes'"),
        (["list-clusters", "--cluster-status", "RUNNING"], "argument --cluster-status: invalid choice: 'RUNNING'"),
        (["get-cluster-log-events", "-n", "hpc", "--log-stream-name", "s", "--limit", "ten"], "--limit: expected a whole number"),
        (["describe-cluster", "-n", "hpc", "--wait"], "unrecognized arguments: --wait"),
        (["create-cluster", "-n", "hpc", "-c", "c.yaml", "--wait", "--timeout", "-1"], "--timeout: expected a positive number"),
    ],
)
def test_argparse_checks_the_official_flags(capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--stack-name", STACK, *argv])

    assert exit_info.value.code == errors.EXIT_USAGE
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])

    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(f"    {operation.name}" in out for operation in OPERATIONS)
    assert "GET (get)" in out


# --- The raw form's older spellings ------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_the_raw_forms_query_still_sets_query_parameters_with_a_warning(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    full_stack()

    code, out, err = run(
        capsys, "--endpoint-url", api.url, "--query", "a=1", "GET", "/v3/clusters", "--query", "b=2", "--query-param", "c=3"
    )

    assert code == 0
    assert json.loads(out)["query"] == {"a": ["1"], "b": ["2"], "c": ["3"]}
    assert err == (
        "pcluster-api: warning: --query KEY=VALUE is deprecated in raw requests: use --query-param KEY=VALUE "
        "(--query will become a JMESPath expression)\n"
    )


@pytest.mark.usefixtures("aws")
def test_query_params_before_and_after_the_method_are_all_sent(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "--query-param", "a=1", "get", "/v3/clusters", "--query-param", "a=2")

    assert (code, err) == (0, "")
    assert json.loads(out)["query"] == {"a": ["1", "2"]}


@pytest.mark.usefixtures("aws")
def test_the_raw_forms_timeout_is_still_the_read_timeout_with_a_warning(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    full_stack()
    argv = ["--stack-name", STACK, "--endpoint-url", api.url, "--no-assume-role", "--timeout", "0.5", "GET", "/v3/slow"]

    code = cli.main(argv, session=new_session())

    err = capsys.readouterr().err
    assert code == errors.EXIT_UNREACHABLE
    assert err.startswith("pcluster-api: warning: --timeout is deprecated in raw requests: use --read-timeout")
    assert f"pcluster-api: error: cannot reach {api.url}/v3/slow: timed out" in err


@pytest.mark.usefixtures("aws")
def test_timeout_and_read_timeout_together_are_refused(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    full_stack()

    code, out, err = run(capsys, "--endpoint-url", api.url, "GET", "/v3/clusters", "--timeout", "5")

    assert (code, out) == (errors.EXIT_USAGE, "")
    assert_one_line_error(err, "--timeout is the older spelling of --read-timeout: pass only --read-timeout")
