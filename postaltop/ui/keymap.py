"""The ``[ui] keymap`` check: every binding id postaltop's UI defines, and a warning for unknown ones.

Textual applies a keymap by binding id (``app.quit``, ``main.filter``); an id that matches no binding is
silently ignored, so a typo would leave the user wondering why the key did not change. The ids are
collected from the ``BINDINGS`` of every class in the ``postaltop.ui`` package (the app, its screens and
widgets), so a new screen's bindings are known without a list to maintain.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable, Mapping

from textual.binding import Binding

import postaltop.ui
from postaltop.core.sanitize import display_text


def bindings_of(classes: Iterable[type]) -> set[str]:
    """The binding ids in the ``BINDINGS`` of ``classes`` (tuples and bare strings have no id)."""
    ids: set[str] = set()
    for cls in classes:
        for binding in getattr(cls, "BINDINGS", None) or ():
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


def known_binding_ids() -> set[str]:
    """Every binding id in a class of a ``postaltop.ui`` module (a module failing to import is skipped)."""
    classes: list[type] = []
    for info in pkgutil.walk_packages(postaltop.ui.__path__, prefix="postaltop.ui."):
        try:
            module = importlib.import_module(info.name)
        except Exception:  # one broken optional screen must not stop the keymap check
            continue
        classes.extend(
            cls for _, cls in inspect.getmembers(module, inspect.isclass) if cls.__module__ == info.name
        )
    return bindings_of(classes)


def unknown_ids(keymap: Mapping[str, str], known: Iterable[str]) -> list[str]:
    """The ids of ``keymap`` that name no binding, in the keymap's order."""
    valid = set(known)
    return [binding_id for binding_id in keymap if binding_id not in valid]


def keymap_warning(keymap: Mapping[str, str], known: Iterable[str] | None = None) -> str | None:
    """A warning naming the unknown ids of ``keymap`` and listing the valid ones; None when all are known."""
    valid = sorted(set(known) if known is not None else known_binding_ids())
    unknown = unknown_ids(keymap, valid)
    if not unknown:
        return None
    names = ", ".join(repr(display_text(binding_id)) for binding_id in unknown)
    plural = "s" if len(unknown) != 1 else ""
    return f"[ui] keymap: unknown binding id{plural} {names} (ignored).\nValid ids: {', '.join(valid)}"
