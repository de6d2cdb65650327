"""The one rule, enforced: the core imports no I/O library and no outer layer."""

from __future__ import annotations

import subprocess
import sys
import textwrap

FORBIDDEN = (
    "textual",
    "asyncssh",
    "aiomysql",
    "pymysql",
    "sqlite3",
    "rich",
    "postaltop.ui",
    "postaltop.sources",
    "postaltop.store",
    "postaltop.engine",
)


def test_core_imports_nothing_forbidden() -> None:
    code = textwrap.dedent(
        f"""
        import importlib, pkgutil, sys
        import postaltop.core as core
        for mod in pkgutil.walk_packages(core.__path__, "postaltop.core."):
            importlib.import_module(mod.name)
        bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in {FORBIDDEN!r}))
        print("\\n".join(bad))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"postaltop.core pulled in: {out.stdout}"
