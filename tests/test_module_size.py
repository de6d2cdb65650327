"""Size limits: a module under postaltop/ holds at most 400 lines and a function at most 60, unless a comment
says why (``# size: <reason>`` at the start of a line of the module, or on the line above the function's
``def`` or first decorator)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "postaltop"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
_REASON = re.compile(r"^\s*# size: \S")
_MODULE_REASON = re.compile(r"^# size: \S")


def oversized(source: str, name: str) -> list[str]:
    """What in ``source`` (the module ``name``) is over the limits without a ``# size:`` reason."""
    lines = source.splitlines()
    found: list[str] = []
    if len(lines) > MAX_MODULE_LINES and not any(_MODULE_REASON.match(line) for line in lines):
        found.append(f"{name}: {len(lines)} lines (at most {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length <= MAX_FUNCTION_LINES:
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        if first >= 2 and _REASON.match(lines[first - 2]):
            continue
        found.append(f"{name}:{node.lineno} {node.name}: {length} lines (at most {MAX_FUNCTION_LINES})")
    return found


def test_every_module_and_function_keeps_to_its_size() -> None:
    found: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        found += oversized(path.read_text(encoding="utf-8"), name)
    assert not found, "\n".join(found)


def _function(body_lines: int, above: str = "") -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(body_lines))
    return f"{above}def f() -> None:\n{body}"


def test_a_long_function_fails_unless_a_comment_says_why() -> None:
    assert oversized(_function(59), "m.py") == []  # 60 lines with its def
    assert oversized(_function(60), "m.py") == ["m.py:1 f: 61 lines (at most 60)"]
    assert oversized(_function(60, "# size: one table of states, read top to bottom\n"), "m.py") == []
    assert oversized(_function(60, "# size:\n"), "m.py") != []  # a reason must be given
    decorated = "import functools\n\n\n# size: a reason\n@functools.cache\n" + _function(60)
    assert oversized(decorated, "m.py") == []
    method = "class C:\n" + "".join("    " + line + "\n" for line in _function(70).splitlines())
    assert oversized(method, "m.py") == ["m.py:2 f: 71 lines (at most 60)"]


def test_a_long_module_fails_unless_a_comment_says_why() -> None:
    short = "x = 1\n" * 400
    assert oversized(short, "m.py") == []
    assert oversized(short + "x = 1\n", "m.py") == ["m.py: 401 lines (at most 400)"]
    assert oversized("# size: generated table\n" + short, "m.py") == []
    assert oversized("    # size: indented, so not the module's\n" + short, "m.py") != []
