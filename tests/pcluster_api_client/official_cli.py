"""Record the official ``pcluster`` CLI's commands for the API's operations, as the installed release defines them.

Runs INSIDE the Lambda image venv (tests/lambda_image/venv.py), where the aws-parallelcluster wheel
is installed, and prints JSON on stdout. The official CLI builds one argparse subcommand per
operation of the OpenAPI spec that ships in the wheel; this asks the CLI's own code for them
(``pcluster.cli.model.load_model``, ``pcluster.cli.entrypoint.gen_parser`` and
``add_cli_commands``, which adds ``pcluster.cli.middleware``'s arguments) and reads the spec for each operation's method,
path and where each parameter goes. The commands the CLI adds beyond the spec (configure, ssh...,
``pcluster.cli.entrypoint.add_cli_commands``) call AWS directly and have no API operation: only
their names are recorded.

    .cache/lambda-image-venv-*/image/bin/python tests/pcluster_api_client/official_cli.py \
        > tests/pcluster_api_client/data/pcluster-cli-<version>.json

tests/pcluster_api_client/test_official_cli.py checks that the recorded file is what this prints.
"""

import argparse
import importlib.metadata
import json
import os
import sys

# As the official CLI's own entry point does before importing its controllers.
for name in ("KNOWN_BROKEN", "UNTESTED", "DEPRECATED"):
    os.environ[f"JSII_SILENCE_WARNING_{name}_NODE_VERSION"] = "1"

SOURCE_FILES = [
    "pcluster/api/openapi/openapi.yaml",
    "pcluster/cli/model.py",
    "pcluster/cli/entrypoint.py",
    "pcluster/cli/middleware.py",
    "pcluster/cli/commands/commands.py",
]


def _kind(param):
    """How the CLI reads the flag's value: its coercion (pcluster.cli.entrypoint.param_coerce)."""
    if "pattern" in param:
        return "string"
    return param.get("type", "string")


def _spec_parameters(spec, operation):
    """[(name, location)] of an operation: path and query parameters, then body properties."""
    found = [(param["name"], param["in"]) for param in operation.get("parameters", [])]
    if "requestBody" in operation:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        found += [(name, "body") for name in schema["properties"]]
    return found


def record():
    from pcluster.cli import entrypoint, model
    from pcluster.utils import to_kebab_case, to_snake_case

    spec = model.package_spec()
    cli_model = model.load_model(spec)
    _, parser_map = entrypoint.gen_parser(cli_model)
    # The spec's commands, then the others; add_cli_commands also calls add_additional_args (--wait).
    entrypoint.add_cli_commands(parser_map)
    commands = parser_map["subparser"].choices

    operations = {}
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            command = to_kebab_case(operation["operationId"])
            kinds = {to_snake_case(param["name"]): _kind(param) for param in cli_model[command]["params"]}
            options = []
            for action in commands[command]._actions:
                if isinstance(action, argparse._HelpAction):
                    continue
                options.append({
                    "flags": list(action.option_strings),
                    "dest": action.dest,
                    "required": action.required,
                    "choices": list(action.choices) if action.choices else None,
                    "multiple": action.nargs == "+",
                    # Flags the CLI adds beyond the spec's parameters: --debug, --query, --wait.
                    "kind": kinds.get(action.dest, "flag" if action.nargs == 0 else "string"),
                    "hidden": action.help == argparse.SUPPRESS,
                })
            operations[command] = {
                "method": method.upper(),
                "path": path,
                "parameters": [{"name": name, "in": location} for name, location in _spec_parameters(spec, operation)],
                "options": options,
            }
    version = importlib.metadata.version("aws-parallelcluster")
    return {
        "source": {
            "package": "aws-parallelcluster",
            "version": version,
            "lock": f"lambda_image/locks/{version}.txt",
            "files": SOURCE_FILES,
            "recorded_by": "tests/pcluster_api_client/official_cli.py",
        },
        "operations": operations,
        "commands_without_operation": sorted(set(commands) - set(operations)),
    }


if __name__ == "__main__":
    json.dump(record(), sys.stdout, indent=1)
    sys.stdout.write("\n")
