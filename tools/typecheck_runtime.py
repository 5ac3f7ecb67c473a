"""Type-check the helper functions' runtime modules (``constructs_lib/*/runtime/*.py``), strictly.

They are not a package: Lambda loads each as a top-level module, and a custom resource imports the
shared ``cfn_response`` by that name. So mypy reads them as top-level modules, with every runtime
directory on its search path, the way the functions see them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    modules = sorted(ROOT.glob("constructs_lib/*/runtime/*.py"))
    directories = sorted({str(module.parent) for module in modules})
    os.environ["MYPYPATH"] = os.pathsep.join(directories)
    arguments = ["--strict", "--ignore-missing-imports", "--no-incremental", "--no-warn-unused-configs"]
    for module in modules:
        arguments += ["-m", module.stem]
    out, err, status = api.run(arguments)
    sys.stdout.write(out)
    sys.stderr.write(err)
    return status


if __name__ == "__main__":
    sys.exit(main())
