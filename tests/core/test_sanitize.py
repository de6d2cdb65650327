from __future__ import annotations

import unicodedata

from postaltop.core.sanitize import ESC_SHOWN, display_text


def _clean(text: str) -> bool:
    return all(
        ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F and unicodedata.category(c) not in ("Cf", "Cs")
        for c in text
    )


def test_printable_text_is_returned_unchanged() -> None:
    s = "2026-04-28 09:14:02 +0000 INFO   Listening on :::25 [bold red]x[/]"
    assert display_text(s) is s


def test_sgr_removed_other_escapes_shown() -> None:
    out = display_text("\x1b[32m<= EHLO x\x1b[0m \x1b]0;pwned\x07 \x1b[2J")
    assert out == f"<= EHLO x {ESC_SHOWN}]0;pwned^G {ESC_SHOWN}[2J"


def test_cut_sgr_sequence_is_shown_not_removed() -> None:
    assert display_text("abc\x1b[3") == f"abc{ESC_SHOWN}[3"


def test_controls_del_c1_and_nul() -> None:
    assert display_text("a\x00b\x7fc\x9bd\re") == "a^@b^?c\\x9bd^Me"


def test_bidi_and_format_characters_are_named() -> None:
    assert display_text("evil\u202etxt.exe\u200b") == "evil<U+202E>txt.exe<U+200B>"


def test_line_separators_and_surrogates_shown() -> None:
    out = display_text("a\u2028b\ud800c")
    assert out == "a<U+2028>b<U+D800>c"


def test_tabs_expand_to_spaces() -> None:
    assert display_text("a\tb") == "a       b"


def test_rich_markup_is_left_as_text() -> None:
    assert display_text("[bold]x[/bold]\x00") == "[bold]x[/bold]^@"


def test_every_code_point_class_is_neutralised() -> None:
    sample = "".join(chr(c) for c in range(0, 0x3000)) + "\U000e0001\U0001d173\ufeff"
    out = display_text(sample)
    assert _clean(out)
    assert "\t" not in out
