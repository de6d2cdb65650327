"""The docstring under each field of a model class, read from its source (the config reference tests).

The models do not ask pydantic to read these at import (``use_attribute_docstrings`` parses every class's
source: about half of the configuration's import time, paid by every start); the tests read them here.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import textwrap


def field_docstrings(cls: type) -> dict[str, str]:
    """Field name -> the string literal right below its annotation, for ``cls`` and its model bases."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or not klass.__module__.startswith("postaltop."):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body if isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                found[node.target.id] = inspect.cleandoc(after.value.value)
    return found
