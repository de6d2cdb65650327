"""Small integer ids for the names the log store repeats on every line (hosts, components)."""

from __future__ import annotations

from collections.abc import Sequence


class Interner:
    """Maps names (hosts, components) to small integer ids and back."""

    __slots__ = ("_ids", "_names")

    def __init__(self, names: Sequence[str] = ()) -> None:
        self._ids: dict[str, int] = {}
        self._names: list[str] = []
        for name in names:
            self.id(name)

    def id(self, name: str) -> int:
        """Return the id of ``name``, assigning the next one on first sight."""
        found = self._ids.get(name)
        if found is None:
            found = len(self._names)
            if found > 0xFFFF:
                raise OverflowError("more than 65,536 distinct names")
            self._ids[name] = found
            self._names.append(name)
        return found

    def get(self, name: str) -> int | None:
        """Return the id of ``name`` if it was seen, else None (never assigns)."""
        return self._ids.get(name)

    def name(self, ident: int) -> str:
        """Return the name of an id."""
        return self._names[ident]

    @property
    def names(self) -> list[str]:
        """All names, in id order."""
        return list(self._names)

    def __len__(self) -> int:
        return len(self._names)
