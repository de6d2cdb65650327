"""Make untrusted log text safe to put on a terminal.

Log lines carry client-controlled text (EHLO names, addresses, web paths) that may hold escape
sequences (OSC title changes, clear screen), NUL bytes and bidi overrides. :func:`display_text`
removes the complete SGR colour sequences Postal writes itself and shows everything else that a
terminal would interpret as a visible token, so what is on screen is what is in the log.

Rich markup such as ``[bold red]`` is left alone: it is plain text here, and the UI renders
log text without markup parsing.
"""

from __future__ import annotations

import re
import unicodedata

from postaltop.core.sgr import SGR

ESC_SHOWN = "\u241b"
"""What an escape character (outside a removed SGR sequence) looks like on screen: ``␛``."""
TAB_SIZE = 8

CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories a terminal may interpret (controls, format characters, separators, lone surrogates)."""
_suspect: re.Pattern[str] | None = None


def _suspect_pattern() -> re.Pattern[str]:
    """One character class of everything to show visibly (tab excluded: it is expanded).

    Built on first use from ``unicodedata`` (format characters exist only in the BMP and planes
    1 and 14), so it follows the interpreter's Unicode version instead of a hand-kept list.
    """
    global _suspect
    if _suspect is None:
        ranges: list[str] = []
        planes = (range(0x0, 0x20000), range(0xE0000, 0xE1000))
        run_start = -1
        prev = -2
        for plane in planes:
            for code in plane:
                if code != 0x09 and unicodedata.category(chr(code)) in CONTROL_CATEGORIES:
                    if code != prev + 1:
                        if run_start >= 0:
                            ranges.append(_range(run_start, prev))
                        run_start = code
                    prev = code
        ranges.append(_range(run_start, prev))
        _suspect = re.compile("[" + "".join(ranges) + "]")
    return _suspect


def _range(lo: int, hi: int) -> str:
    return re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"


def _show(ch: str) -> str:
    code = ord(ch)
    if code == 0x1B:
        return ESC_SHOWN
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    if code <= 0x9F:
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"


def _show_match(m: re.Match[str]) -> str:
    return _show(m.group())


def display_text(s: str) -> str:
    """Return ``s`` with colour codes removed and every other control made visible.

    * complete SGR sequences (``ESC [ digits/; m``) are removed;
    * ESC is shown as ``␛``, other C0 controls in caret notation (``^@`` for NUL), DEL as ``^?``,
      C1 controls as ``\\x9b``;
    * format characters (Unicode category Cf, e.g. U+202E), line/paragraph separators and lone
      surrogates as ``<U+202E>``;
    * tabs are expanded to spaces (stops every 8 columns).

    The result holds no character below U+0020, none in U+007F-U+009F and no Cf character.
    """
    if s.isprintable():
        return s
    if "\x1b" in s:
        s = SGR.sub("", s)
        if s.isprintable():  # only Postal's own colour codes (the common case): nothing else to show
            return s
    s = _suspect_pattern().sub(_show_match, s)
    if "\t" in s:
        s = s.expandtabs(TAB_SIZE)
    return s


def neutralise(text: str) -> str:
    """Escape control and format characters (keeping newlines and tabs) so text cannot drive the terminal.

    For command-line output, where the text stays multi-line: ``\\x1b``, ``\\u202e``.
    """
    out: list[str] = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
        elif unicodedata.category(ch) in CONTROL_CATEGORIES:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
