from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_manage(
    *args: str, env: dict[str, str] | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a fresh interpreter, so settings are read from ``env`` from scratch."""
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "OFFLABEL_REQUIRE"))
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
