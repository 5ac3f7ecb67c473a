"""Helper functions ship inline: each one is a single file, with the shared reply code spliced in."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from constructs_lib.helper_function import INLINE_MODULE, SHARED_RUNTIME_DIR, inline_source
from tests.conftest import ROOT

HANDLER_MODULES = sorted(
    path for path in (ROOT / "constructs_lib").glob("*/runtime/*.py") if path.parent != SHARED_RUNTIME_DIR
)


@pytest.mark.parametrize("module", HANDLER_MODULES, ids=lambda path: path.stem)
def test_inline_code_stands_alone(module: Path) -> None:
    tree = ast.parse(inline_source(module))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    shared = {path.stem for path in SHARED_RUNTIME_DIR.glob("*.py")}
    # Nothing left to import from the project: Lambda has only the standard library and boto3.
    assert not imported & shared
    assert "handler" in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_custom_resources_share_one_reply(default) -> None:
    """Every custom resource handler replies through the same spliced module."""
    reply = (SHARED_RUNTIME_DIR / "cfn_response.py").read_text()
    send = reply[reply.index("def send_response(") :]
    custom_resource_handlers = [m for m in HANDLER_MODULES if "from cfn_response import" in m.read_text()]
    assert len(custom_resource_handlers) >= 2
    for module in custom_resource_handlers:
        assert send in inline_source(module)


def test_template_functions_run_the_inline_code(default) -> None:
    sources = {inline_source(module) for module in HANDLER_MODULES}
    helpers = [
        resource["Properties"]
        for resource in default.resources("AWS::Lambda::Function").values()
        if "ZipFile" in resource["Properties"].get("Code", {})
    ]
    assert helpers, "no inline helper function in the default template"
    for properties in helpers:
        assert properties["Code"]["ZipFile"] in sources
        assert properties["Handler"] == f"{INLINE_MODULE}.handler"


def _handler(tmp_path: Path, text: str) -> Path:
    module = tmp_path / "handler_module.py"
    module.write_text(text)
    return module


def test_a_name_bound_in_both_files_is_refused(tmp_path: Path) -> None:
    module = _handler(tmp_path, "from cfn_response import send_response\nMAX_BODY_BYTES = 10\n\ndef handler(e, c):\n    pass\n")
    with pytest.raises(ValueError, match="both define MAX_BODY_BYTES"):
        inline_source(module)


def test_a_name_the_shared_module_lacks_is_refused(tmp_path: Path) -> None:
    module = _handler(tmp_path, "from cfn_response import reply_later\n\ndef handler(e, c):\n    pass\n")
    with pytest.raises(ValueError, match="cfn_response has no reply_later"):
        inline_source(module)


def test_the_same_import_in_both_files_is_fine(tmp_path: Path) -> None:
    module = _handler(tmp_path, "import json\nfrom cfn_response import SUCCESS, send_response\n\ndef handler(e, c):\n    return json.dumps(SUCCESS)\n")
    namespace: dict = {}
    exec(compile(inline_source(module), "index", "exec"), namespace)  # noqa: S102 - our own code
    assert namespace["handler"](None, None) == '"SUCCESS"'


def test_a_shared_module_is_spliced_once_where_it_is_first_imported(tmp_path: Path) -> None:
    """custom_resource imports cfn_response: a handler that imports both gets each once."""
    both = _handler(tmp_path, "from cfn_response import REPLY_MS\nfrom custom_resource import serve\n\ndef handler(e, c):\n    return serve, REPLY_MS\n")
    text = inline_source(both)

    assert [line for line in text.splitlines() if line.startswith("# ---- ")] == [
        "# ---- cfn_response.py, shared by this project's custom resources ----",
        "# ---- end of cfn_response.py ----",
        "# ---- custom_resource.py, shared by this project's custom resources ----",
        "# ---- end of custom_resource.py ----",
    ]
    assert text.count("def send_response(") == 1


def test_a_module_imported_through_another_is_spliced_inside_it(tmp_path: Path) -> None:
    only_skeleton = _handler(tmp_path, "from custom_resource import Outcome\n\ndef handler(e, c):\n    return Outcome('done')\n")
    text = inline_source(only_skeleton)
    namespace: dict = {}
    exec(compile(text, "index", "exec"), namespace)  # noqa: S102 - our own code

    assert text.index("# ---- custom_resource.py") < text.index("# ---- cfn_response.py") < text.index("def serve(")
    assert namespace["handler"](None, None) == ("done", None, "SUCCESS")


def test_a_name_a_nested_module_binds_is_refused_too(tmp_path: Path) -> None:
    module = _handler(tmp_path, "from custom_resource import serve\nMAX_BODY_BYTES = 10\n\ndef handler(e, c):\n    pass\n")
    with pytest.raises(ValueError, match="both define MAX_BODY_BYTES"):
        inline_source(module)
