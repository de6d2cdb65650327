"""Recognise the regexes that are a fixed-width run of one-byte classes (``5\\d\\d ``, ``^[45]\\d\\d$``).

Such a pattern can be searched over a whole block at once (:mod:`postaltop.core.classscan`) instead of
with one RE2 call per matching line. This module only *reads* the pattern's structure, with its own
small parser for a strict subset of RE2's syntax; the pattern is never run on Python's own engine.
Anything outside the subset returns ``None`` and the caller keeps RE2, so the subset is chosen so that
the byte-level reading is exactly what RE2 does with the filter's options (UTF-8, ``never_nl``):

* a literal ASCII character, or a non-ASCII character (its UTF-8 bytes, one element each) when case
  matters;
* ``\\d``, ``\\w``, ``\\s`` (RE2's ASCII classes; ``never_nl`` takes ``\\n`` out of ``\\s``), escaped
  punctuation, ``\\t \\r \\f \\v \\a``, ``\\xHH`` below 0x80;
* a bracket class of those (ASCII members and ranges only, not negated);
* ``{n}`` after one of the above, ``^`` first, ``$`` last, leading flag groups of ``i m s U``.

Not in the subset (RE2 keeps them): ``.`` and negated classes (one *code point*, 1-4 bytes), any
other quantifier, groups, alternation, ``\\b`` and other escapes, and, case-insensitively, a class
holding ``k`` or ``s`` (RE2 folds them to the Kelvin sign and the long s, which are not ASCII) or a
non-ASCII letter.
"""

from __future__ import annotations

from dataclasses import dataclass

_DIGITS = frozenset(range(0x30, 0x3A))
_WORD = _DIGITS | frozenset(range(0x41, 0x5B)) | frozenset(range(0x61, 0x7B)) | {0x5F}
_SPACE = frozenset(b"\t\f\r ")
_PERL = {"d": _DIGITS, "w": _WORD, "s": _SPACE}
_CONTROL = {"t": 0x09, "r": 0x0D, "f": 0x0C, "v": 0x0B, "a": 0x07}
_META = frozenset(".[]{}()*+?|^$\\")
_FOLDS_OUT_OF_ASCII = frozenset(b"kKsS")
_MAX_WIDTH = 256


@dataclass(frozen=True)
class FixedPattern:
    """A pattern matching exactly ``len(classes)`` bytes, byte ``j`` in ``classes[j]``."""

    classes: tuple[frozenset[int], ...]
    at_start: bool
    """``^``: the match starts a line."""
    at_end: bool
    """``$``: the match ends a line."""


def folded_literal(word: bytes) -> FixedPattern:
    """``word`` with ASCII letters in either case and every other byte exact: the rule of
    ``word in line.lower()`` for a case-insensitive word (not RE2's: ``k`` is ``k`` or ``K`` only)."""
    return FixedPattern(
        tuple(
            frozenset((c | 0x20, c & ~0x20)) if 0x61 <= (c | 0x20) <= 0x7A else frozenset((c,)) for c in word
        ),
        at_start=False,
        at_end=False,
    )


class _Unsupported(Exception):
    """The pattern is outside the subset (RE2 searches it)."""


def fixed_pattern(pattern: str, ignore_case: bool = False) -> FixedPattern | None:
    """The pattern as a run of one-byte classes, or ``None`` if it is not one (see the module doc)."""
    try:
        return _Parser(pattern, ignore_case).parse()
    except _Unsupported:
        return None


class _Parser:
    def __init__(self, pattern: str, ignore_case: bool) -> None:
        self.text = pattern
        self.i = 0
        self.fold = ignore_case

    def parse(self) -> FixedPattern:
        self._flags()
        text = self.text
        at_start = text.startswith("^", self.i)
        self.i += at_start
        at_end = text.endswith("$") and not text.endswith("\\$") and len(text) > self.i
        stop = len(text) - at_end
        elements: list[frozenset[int]] = []
        while self.i < stop:
            atom = self._atom()
            count = self._repeat(stop)
            elements.extend(atom * count)
        if not elements or len(elements) > _MAX_WIDTH:
            raise _Unsupported
        return FixedPattern(tuple(elements), at_start, at_end)

    def _flags(self) -> None:
        """Leading ``(?flags)`` groups; only ``i`` changes what a byte class holds."""
        text = self.text
        while text.startswith("(?", self.i):
            close = text.find(")", self.i)
            flags = text[self.i + 2 : close] if close > 0 else ""
            if not flags or not set(flags) <= set("imsU"):
                raise _Unsupported
            self.fold = self.fold or "i" in flags
            self.i = close + 1

    def _repeat(self, stop: int) -> int:
        """``{n}`` after an atom (n from 1 to 99), else 1."""
        text = self.text
        if self.i < stop and text[self.i] == "{":
            close = text.find("}", self.i)
            digits = text[self.i + 1 : close] if 0 < close < stop else ""
            if not digits.isdigit() or not digits.isascii() or not 0 < int(digits) < 100:
                raise _Unsupported
            self.i = close + 1
            return int(digits)
        return 1

    def _atom(self) -> list[frozenset[int]]:
        text = self.text
        ch = text[self.i]
        if ch == "[":
            return [self._folded(self._bracket())]
        if ch == "\\":
            return [self._folded(self._escape())]
        if ch in _META:
            raise _Unsupported
        self.i += 1
        if ord(ch) < 0x80:
            return [self._folded(frozenset((ord(ch),)))]
        if self.fold:
            raise _Unsupported  # RE2 folds non-ASCII letters (e with and without accent, ...)
        return [frozenset((b,)) for b in ch.encode()]

    def _escape(self) -> frozenset[int]:
        """The class of the escape at ``self.i`` (a backslash), one byte wide."""
        text = self.text
        if self.i + 1 >= len(text):
            raise _Unsupported
        ch = text[self.i + 1]
        self.i += 2
        if ch in _PERL:
            return _PERL[ch]
        if ch in _CONTROL:
            return frozenset((_CONTROL[ch],))
        if ch == "x":
            digits = text[self.i : self.i + 2]
            if len(digits) != 2 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise _Unsupported
            self.i += 2
            value = int(digits, 16)
            if value >= 0x80 or value == 0x0A:
                raise _Unsupported
            return frozenset((value,))
        if ord(ch) < 0x80 and not ch.isalnum() and ch not in "\n":
            return frozenset((ord(ch),))
        raise _Unsupported

    def _bracket(self) -> frozenset[int]:
        """A ``[...]`` class of ASCII members and ranges (not negated)."""
        text = self.text
        self.i += 1
        if self.i >= len(text) or text[self.i] in "^]":
            raise _Unsupported
        members: set[int] = set()
        while self.i < len(text) and text[self.i] != "]":
            if text.startswith("[:", self.i):
                raise _Unsupported
            low = self._member()
            if text.startswith("-", self.i) and self.i + 1 < len(text) and text[self.i + 1] != "]":
                self.i += 1
                high = self._member()
                if len(low) != 1 or len(high) != 1 or min(high) < min(low):
                    raise _Unsupported
                members.update(range(min(low), min(high) + 1))
            else:
                members.update(low)
        if self.i >= len(text):
            raise _Unsupported
        self.i += 1
        return frozenset(members - {0x0A})

    def _member(self) -> frozenset[int]:
        ch = self.text[self.i]
        if ch == "\\":
            return self._escape()
        if ord(ch) >= 0x80 or ch == "\n":
            raise _Unsupported
        self.i += 1
        return frozenset((ord(ch),))

    def _folded(self, members: frozenset[int]) -> frozenset[int]:
        """``members`` with both cases of its ASCII letters when case is ignored."""
        if not members:
            raise _Unsupported  # matches nothing: leave that to RE2
        if not self.fold:
            return members
        if members & _FOLDS_OUT_OF_ASCII:
            raise _Unsupported
        return members | {c ^ 0x20 for c in members if 0x41 <= (c & ~0x20) <= 0x5A}
