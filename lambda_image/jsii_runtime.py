"""Build step of the image: a jsii runtime that starts ParallelCluster's CDK without unpacking it.

    python3 jsii_runtime.py DIRECTORY

ParallelCluster writes cluster and image templates with CDK v1 through jsii: its Python packages
start jsii's kernel in Node.js (jsii/_embedded/jsii) and load each package's JavaScript from the
tarball the wheel ships (`<package>/_jsii/<name>@<version>.jsii.tgz`). At every cold start the
kernel unpacks each tarball it loads into a new directory under /tmp, and validates each
package's assembly (its `.jsii` file, megabytes of JSON) against the jsii schema, compiling the
schema anew for each one: most of the kernel's time in a create-cluster. jsii's own package cache
(JSII_RUNTIME_PACKAGE_CACHE) cannot help on Lambda: it locks and touches its entries, so its root
must be writable, that is in /tmp, which is empty at each cold start; and it links the files of an
entry into the kernel's directory one by one, copying them where the cache is on another
filesystem.

So this step writes, in DIRECTORY, once and for all:
- node_modules/<name>: every jsii tarball of the environment, unpacked as the kernel unpacks them
  (its contents below the leading directory), a node_modules tree in which each package finds the
  packages it requires;
- bin/ and lib/: the kernel of the installed jsii package with two changes, each checked to apply
  exactly once: a package that node_modules/ holds in the requested version is linked into the
  kernel's directory (one symbolic link) instead of unpacked, and its assembly is read without the
  schema validation, which this step ran instead, with the unchanged kernel, on every assembly.

Pointed at by JSII_RUNTIME (read by jsii/_kernel/providers/process.py), the runtime needs nothing
writable but the kernel's own directory in /tmp. Standard library only: it runs with the image's
Python at build time.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

# The kernel's load (@jsii/kernel, `Kernel._load`): the assembly of the unpacked package, validated.
LOAD_ASSEMBLY = "(0, spec_1.loadAssemblyFromPath)(packageDir)"
# @jsii/spec's own switch: read the assembly without validating it.
LOAD_ASSEMBLY_UNVALIDATED = "(0, spec_1.loadAssemblyFromPath)(packageDir, false)"
# Where the kernel unpacks a tarball into its directory (@jsii/kernel tar-cache `extract`); the
# kernel passes the package's name and version as the first two comments.
EXTRACT = "function extract(file, outDir, options, ...comments) {"
EXTRACT_OR_LINK = EXTRACT + """
            const fs = require("fs"), path = require("path");
            const unpacked = path.join(__dirname, "..", "node_modules", comments[0]);
            try {
                if (JSON.parse(fs.readFileSync(path.join(unpacked, "package.json"), "utf-8")).version === comments[1]) {
                    fs.mkdirSync(path.dirname(outDir), { recursive: true });
                    fs.symlinkSync(unpacked, outDir, "dir");
                    return { cache: "unpacked at build time" };
                }
            } catch (error) {
                if (error.code !== "ENOENT") throw error;
            }"""


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def tarballs() -> dict[str, Path]:
    """{Python module that loads it: tarball} for every jsii package of this environment."""
    root = site_packages()
    found = {}
    for tarball in sorted(root.glob("**/_jsii/*.jsii.tgz")):
        module = ".".join(tarball.parent.relative_to(root).parts)
        found[module] = tarball
    if not found:
        raise SystemExit(f"no jsii package tarball under {root}")
    return found


def unpack(tarball: Path, node_modules: Path) -> None:
    """Unpack ``tarball`` as the kernel does: into node_modules/<name>, without its leading directory."""
    with tarfile.open(tarball) as archive:
        manifest = archive.extractfile("package/package.json")
        if manifest is None:
            raise SystemExit(f"{tarball} has no package/package.json")
        destination = node_modules / json.load(manifest)["name"]
        members = []
        for member in archive.getmembers():
            _, _, inner = member.name.partition("/")
            if inner:
                member.name = inner
                members.append(member)
        destination.mkdir(parents=True)
        archive.extractall(destination, members=members, filter="data")


def kernel(directory: Path) -> None:
    """The installed jsii's runtime files, in bin/ and lib/ as its Python side writes them, with the two changes."""
    import jsii._embedded.jsii as embedded

    for resource, relative in embedded.EMBEDDED_FILES.items():
        text = importlib.resources.files(embedded).joinpath(resource).read_text(encoding="utf-8")
        if relative == "lib/program.js":
            for before, after in ((LOAD_ASSEMBLY, LOAD_ASSEMBLY_UNVALIDATED), (EXTRACT, EXTRACT_OR_LINK)):
                if text.count(before) != 1:
                    raise SystemExit(f"jsii's kernel has {text.count(before)} occurrences of {before!r}, not one: "
                                     "this step knows jsii 1.85's kernel only")
                text = text.replace(before, after)
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def validate(modules: list[str]) -> None:
    """Load every assembly with jsii's unchanged kernel, which validates each against the jsii schema."""
    env = {k: v for k, v in os.environ.items() if k != "JSII_RUNTIME"}
    program = "import importlib, sys\nfor module in sys.argv[1:]:\n    importlib.import_module(module)\n"
    subprocess.run([sys.executable, "-c", program, *modules], env=env, check=True)


def main(directory: Path) -> None:
    found = tarballs()
    validate(sorted(found))
    shutil.rmtree(directory, ignore_errors=True)
    for tarball in found.values():
        unpack(tarball, directory / "node_modules")
    kernel(directory)
    print(f"jsii runtime in {directory}: {len(found)} packages unpacked, assemblies validated")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python3 jsii_runtime.py DIRECTORY")
    main(Path(sys.argv[1]))
