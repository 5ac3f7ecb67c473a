"""stacks/options.py: one row per option, from which the settings, the template's parameters and the README derive."""

from __future__ import annotations

import os
import re

import aws_cdk as cdk
import pytest

from stacks import options
from stacks.options import OPTIONS, Option, TemplateParameter
from stacks.portable_template import PARAMETER_GROUPS, parameters
from stacks.settings import PROP_KEYS, Settings, settings_class
from tests.conftest import ROOT, TEST_REGION
from tools.configurations import CONFIGURATIONS

README = ROOT / "README.md"
TABLE = re.compile(r"^\| Key \| Default \| Meaning \|\n(?:\|.*\|\n)+", re.M)


def test_every_option_is_a_template_parameter_or_app_only_with_a_reason():
    for option in OPTIONS:
        assert (option.parameter is None) == bool(option.app_only), option.key
    with pytest.raises(ValueError, match="^Example: an option is a template parameter, or app-only with the reason why"):
        Option("Example", "example", options.text, "(none)", "An example.")
    with pytest.raises(ValueError, match="^Example: "):
        Option("Example", "example", options.text, "(none)", "An example.",
               TemplateParameter("An example.", options.API, 9), app_only="it is an example")


def test_the_settings_the_parameters_and_their_groups_are_the_options():
    assert list(Settings.keys()) == [option.key for option in OPTIONS]
    assert [parameter.name for parameter in parameters(TEST_REGION, "3.16.1")] == [
        option.key for option in OPTIONS if option.parameter is not None
    ]
    assert sorted(name for names in PARAMETER_GROUPS.values() for name in names) == sorted(
        option.key for option in OPTIONS if option.parameter is not None
    )
    assert PROP_KEYS == {prop: option.key for option in OPTIONS for prop in (option.prop, *option.names) if prop}


def test_the_readme_table_is_the_options():
    text = README.read_text()
    [table] = TABLE.findall(text)
    expected = options.readme_table(OPTIONS)
    if os.environ.get("UPDATE_SNAPSHOTS") and table != expected:
        README.write_text(text.replace(table, expected))
        pytest.skip("README's configuration table rewritten from stacks/options.py")
    assert table == expected, "README.md's configuration table: regenerate it with UPDATE_SNAPSHOTS=1"


def test_every_configuration_names_options():
    keys = set(Settings.keys())
    for name, settings in CONFIGURATIONS.items():
        assert set(settings) <= keys, name


def test_an_option_added_in_one_row_is_a_setting_a_prop_a_parameter_and_a_readme_row():
    """What a new option takes: its row (and the construct's prop it feeds, its builder)."""
    row = Option(
        "ExampleTracing", "example_tracing", options.boolean, "`true`", "Whether the example traces.",
        TemplateParameter("true traces the example.", options.PROTECTION, 9, default="true", allowed_values=options.TRUE_OR_FALSE),
        prop="example_tracing",
    )
    registry = (*OPTIONS, row)
    extended = settings_class(registry)
    settings = extended.from_context({"ExampleTracing": "false"})
    assert settings.example_tracing is False
    assert settings.api_props(cdk.Stack()) == {"example_tracing": False}
    assert options.prop_keys(registry)["example_tracing"] == "ExampleTracing"
    [parameter] = [p for p in options.template_parameters(registry, TEST_REGION, "3.16.1") if p.name == "ExampleTracing"]
    assert (parameter.default, parameter.allowed_values) == ("true", ["true", "false"])
    assert options.parameter_groups(registry)[options.PROTECTION][-1] == "ExampleTracing"
    assert "| `ExampleTracing` | `true` | Whether the example traces. |" in options.readme_table(registry)
    with pytest.raises(Exception, match="^ExampleTracing: expected true or false; got 'maybe'"):
        extended.from_context({"ExampleTracing": "maybe"})
