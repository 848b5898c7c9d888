"""axe-core, the accessibility engine the browser tests run in each page, from the npm registry.

It is installed with npm into var/node/ (git-ignored), at the version pinned here and nowhere
else: ``.ci/run`` and ``scripts/dev.py test`` run ``python3 -m tests.browser.axe`` before the
tests, and the tests install it themselves when it is missing or at another version. Standard
library only, so the system's python3 runs it before the virtual environment exists.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

AXE_CORE_VERSION = "4.14.1"
ROOT = Path(__file__).resolve().parent.parent.parent
PREFIX = ROOT / "var" / "node"
PACKAGE = PREFIX / "node_modules" / "axe-core"


class AxeCoreMissing(RuntimeError):
    """axe-core cannot be installed: the message says why and what to run."""


def axe_core_installed_version() -> str | None:
    try:
        return str(json.loads((PACKAGE / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def axe_core_install() -> Path:
    """The path of axe.min.js at the pinned version, installed with npm first if needed."""
    if axe_core_installed_version() != AXE_CORE_VERSION:
        npm = shutil.which("npm")
        if npm is None:
            raise AxeCoreMissing(
                "npm is not installed, so axe-core cannot be installed for the accessibility "
                "tests (apt-get install npm)"
            )
        command = [npm, "install", "--prefix", str(PREFIX), "--no-save", "--no-audit"]
        command += ["--no-fund", "--loglevel", "error", f"axe-core@{AXE_CORE_VERSION}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if result.returncode != 0 or axe_core_installed_version() != AXE_CORE_VERSION:
            raise AxeCoreMissing(
                f"`{' '.join(command)}` failed (exit {result.returncode}):\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
    return PACKAGE / "axe.min.js"


if __name__ == "__main__":
    try:
        path = axe_core_install()
    except AxeCoreMissing as exc:
        sys.exit(f"axe-core: {exc}")
    print(f"axe-core {AXE_CORE_VERSION}: {path.relative_to(ROOT)}")
