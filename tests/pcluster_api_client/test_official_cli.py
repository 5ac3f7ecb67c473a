"""``pcluster-api``'s commands are the official ``pcluster`` CLI's: names, flags, values, and the requests they make.

The official CLI's commands are recorded from the release (data/, official.py). The mapping test
runs every command with every flag through the local SigV4-checking API, which echoes what it
received, and compares that with the spec's method, path and parameter locations.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION, SUPPORTED_PARALLELCLUSTER_VERSIONS
from pcluster_api_client import cli
from pcluster_api_client.operations import BY_NAME, OPERATIONS, REGION
from tests.lambda_image import venv
from tests.pcluster_api_client.official import (
    CLI_FLAGS,
    RECORDER,
    data_file,
    parameter_options,
    recorded,
    recorded_versions,
)
from tests.pcluster_api_client.support import STAGE, FakeApi, full_stack, run

VERSIONS = recorded_versions()
DEFAULT = DEFAULT_PARALLELCLUSTER_VERSION
# pcluster-api's own flags on a command, beyond the official ones: reaching the API, and --wait's bounds.
OWN_FLAGS = {"--timeout", "--poll-interval"}


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def connection_flags() -> set[str]:
    parser = cli.build_parser()
    [group] = [g for g in parser._action_groups if g.title == "connection options"]
    return {flag for action in group._group_actions for flag in action.option_strings}


def test_every_served_version_is_recorded() -> None:
    assert VERSIONS == sorted(SUPPORTED_PARALLELCLUSTER_VERSIONS)
    for version in VERSIONS:
        source = recorded(version)["source"]
        assert (source["package"], source["version"]) == ("aws-parallelcluster", version)
        assert Path(venv.ROOT, source["lock"]).is_file()


@pytest.mark.lambda_image
@pytest.mark.xdist_group("real_handler")
def test_the_recording_is_what_the_release_defines(lambda_venvs: venv.LambdaVenvs) -> None:
    """The recorder, run again in each served version's image venv, prints the committed file."""
    printed = subprocess.run(
        [str(lambda_venvs.image_python), str(RECORDER)], capture_output=True, text=True, check=True, timeout=120
    ).stdout

    assert json.loads(printed) == json.loads(data_file(lambda_venvs.version).read_text())


@pytest.mark.parametrize("version", VERSIONS)
def test_every_operation_has_its_command(version: str) -> None:
    official = recorded(version)["operations"]

    assert sorted(BY_NAME) == sorted(official)
    assert {name: (op.method, op.path) for name, op in BY_NAME.items()} == {
        name: (op["method"], op["path"]) for name, op in official.items()
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_parameters_go_where_the_spec_puts_them(version: str) -> None:
    official = recorded(version)["operations"]
    for operation in OPERATIONS:
        spec = [(p["name"], p["in"]) for p in official[operation.name]["parameters"]]
        # Every operation takes the region query parameter, which --region sets for every command.
        assert (REGION, "query") in spec, operation.name
        assert sorted((p.name, p.location) for p in operation.parameters) == sorted(
            item for item in spec if item[0] != REGION
        ), operation.name


@pytest.mark.parametrize("version", VERSIONS)
def test_flags_are_the_official_clis(version: str) -> None:
    """Same flags, short forms, required flags, choices, arity and value kind as the official CLI's."""
    official = recorded(version)["operations"]
    commands = subcommands()
    shared = connection_flags()
    for name, operation in official.items():
        actions = {action.option_strings[-1]: action for action in commands[name]._actions if action.option_strings}
        for parameter, option in parameter_options(operation):
            action = actions[option["flags"][-1]]
            assert action.option_strings == option["flags"], (name, option)
            assert action.required == option["required"], (name, option)
            assert list(action.choices or []) == (option["choices"] or []), (name, option)
            assert (action.nargs == "+") == option["multiple"], (name, option)
            ours = BY_NAME[name]
            kind = next((p.kind for p in ours.parameters if p.name == parameter["name"]), "string")
            assert kind == option["kind"], (name, option)
        # The official CLI's other flags: --debug, --query, and a hidden --wait on the cluster operations.
        others = {flag for option in operation["options"] for flag in option["flags"]} - {
            flag for _, option in parameter_options(operation) for flag in option["flags"]
        }
        hidden = {flag for option in operation["options"] if option["hidden"] for flag in option["flags"]}
        assert others - hidden == CLI_FLAGS and hidden <= {"--wait"}, name
        assert others <= set(actions), name
        # Nothing else, but the options that reach the API and --wait's own (both of them ours).
        official_flags = {flag for option in operation["options"] for flag in option["flags"]}
        assert set(actions) - official_flags - shared - {"-h", "--help"} <= OWN_FLAGS | {"--wait"}, name


def test_wait_is_offered_where_the_operation_takes_time() -> None:
    official = recorded(DEFAULT)["operations"]
    hidden_wait = {name for name, op in official.items() if any(o["flags"] == ["--wait"] for o in op["options"])}

    waiting = {operation.name for operation in OPERATIONS if operation.wait is not None}

    # The official CLI has an undocumented --wait on the cluster operations; ours adds the image ones.
    assert hidden_wait == {"create-cluster", "update-cluster", "delete-cluster"}
    assert waiting == hidden_wait | {"build-image", "delete-image"}


# --- Every command, every flag: the request it makes -------------------------------------------------


def _sample(option: dict[str, Any], configuration: Path) -> list[str]:
    """Values for an official option: a choice, true, a number, the file, or text (two of them for a list)."""
    if option["choices"]:
        values = option["choices"][-2:] if option["multiple"] else [option["choices"][-1]]
    elif option["kind"] == "boolean":
        values = ["True"]
    elif option["kind"] == "integer":
        values = ["42"]
    elif option["kind"] == "file":
        values = [str(configuration)]
    elif option["multiple"]:
        values = [f"{option['dest']} 1", f"{option['dest']}/2"]
    else:
        values = [f"{option['dest']}/é 1"]
    return values


def _expected(kind: str, values: list[str], configuration: Path) -> Any:
    if kind == "boolean":
        return "true"
    if kind == "file":
        return configuration.read_text()
    return values


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_every_command_makes_the_request_of_its_operation(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    """All of a command's flags at once: the method, path, query and body the API received."""
    full_stack()
    configuration = tmp_path / "config.yaml"
    configuration.write_text("Region: eu-north-1\nImage:\n  Os: alinux2023  # é\n", encoding="utf-8")
    operation = recorded(DEFAULT)["operations"][name]
    argv = [name, "--region", "eu-north-1"]
    path, query, body = operation["path"], {REGION: ["eu-north-1"]}, {}
    for parameter, option in parameter_options(operation):
        if parameter["name"] == REGION:
            continue
        values = _sample(option, configuration)
        argv += [option["flags"][-1], *values]
        expected = _expected(option["kind"], values, configuration)
        if parameter["in"] == "path":
            path = path.replace(f"{{{parameter['name']}}}", quote(values[0], safe=""))
        elif parameter["in"] == "query":
            query[parameter["name"]] = expected if isinstance(expected, list) else [expected]
        else:
            body[parameter["name"]] = expected[0] if isinstance(expected, list) else expected

    code, out, err = run(capsys, "--endpoint-url", api.url, "--api-region", "eu-west-1", *argv)

    assert (code, err) == (0, "")
    echo = json.loads(out)
    assert (echo["method"], echo["path"]) == (operation["method"], STAGE + path)
    assert echo["query"] == query
    assert echo["body"] == (body if any(p["in"] == "body" for p in operation["parameters"]) else None)
    assert api.seen[0].status == 200


def test_the_readme_table_is_true() -> None:
    """README's table from pcluster's commands to pcluster-api's: each operation, its request, --wait; the others."""
    readme = (venv.ROOT / "README.md").read_text()
    section = readme[readme.index("## Invoking the API\n") : readme.index("## Granting access\n")]
    rows = re.findall(r"^\| `pcluster ([a-z-]+)` \| `pcluster-api ([a-z-]+)` \| `([A-Z]+) (\S+)` \|\s*(yes)?\s*\|$", section, re.M)
    [others] = re.findall(r"^\| `pcluster ([^|]+)` \| \(none: ", section, re.M)

    assert {row[0]: row[1:] for row in rows} == {
        operation.name: (operation.name, operation.method, operation.path, "yes" if operation.wait else "")
        for operation in OPERATIONS
    }
    assert len(rows) == len(OPERATIONS)
    assert sorted(others.replace("`", "").split(", ")) == recorded(DEFAULT)["commands_without_operation"]
