"""The store's cache of lower-cased blocks: contents, budget, ring eviction, and the matcher using it."""

from __future__ import annotations

from array import array

import pytest

from postaltop.core.events import Level
from postaltop.core.logstore import LogStore
from postaltop.core.matcher import Matcher
from postaltop.core.query import parse_query

NOW = 10_000.0


def _fill(store: LogStore, texts: list[bytes]) -> None:
    for text in texts:
        store.append(text, NOW)


def _ci_reference(store: LogStore, word: bytes) -> list[int]:
    """Lines holding ``word`` in any ASCII case (bytes >= 0x80 compared as they are)."""
    return [s for s in range(store.start_seq, store.end_seq) if word.lower() in store.raw(s).lower()]


def _scan(store: LogStore, text: str) -> list[int]:
    out: array[int] = array("q")
    Matcher(parse_query(text, now=NOW)).scan(store, store.start_seq, store.end_seq, out)
    return out.tolist()


def test_lowered_copy_is_ascii_lower_case_and_leaves_other_bytes_alone() -> None:
    store = LogStore(capacity=1_000, block_lines=16, lower_cache_ratio=1.0)
    lines = [b"Caf\xc3\x89 \xc3\x89T\xc3\xa9 UNQUEUE \xff\x00Z" for _ in range(16)] + [b"Open BLOCK"]
    _fill(store, lines)
    sealed, open_block = store.blocks[0], store.blocks[1]
    assert sealed.sealed is not None and open_block.sealed is None
    low = store.lowered(sealed)
    assert low == sealed.buffer.lower()
    assert b"caf\xc3\x89 \xc3\x89t\xc3\xa9 unqueue \xff\x00z\n" in low  # only A-Z changed
    assert sealed.lowered is low  # kept: within the budget
    assert store.lowered(open_block) == b"open block\n"
    assert open_block.lowered is None  # a growing block is never cached


def test_cache_stays_within_its_share_of_the_text() -> None:
    store = LogStore(capacity=10_000, block_lines=16, lower_cache_ratio=0.5)
    _fill(store, [f"line {i:04} Accepted".encode() for i in range(160)])  # 10 sealed blocks
    for block in list(store.blocks):
        store.lowered(block)
    text = sum(len(b.buffer) for b in store.blocks if b.sealed is not None)
    cached = [b for b in store.blocks if b.lowered is not None]
    assert 0 < store.lowered_bytes <= text * 0.5
    assert len(cached) == 5
    assert store.lowered_bytes == sum(len(b.lowered or b"") for b in cached)
    assert store.nbytes() == sum(b.nbytes() for b in store.blocks)
    assert store.nbytes() >= text + store.lowered_bytes


def test_ratio_zero_disables_the_cache_and_bad_ratios_are_refused() -> None:
    store = LogStore(capacity=1_000, block_lines=16, lower_cache_ratio=0.0)
    _fill(store, [b"ABC"] * 40)
    assert store.lowered(store.blocks[0]) == store.blocks[0].buffer.lower()
    assert store.lowered_bytes == 0 and store.blocks[0].lowered is None
    with pytest.raises(ValueError):
        LogStore(lower_cache_ratio=1.5)


def test_ring_wrap_around_drops_copies_with_their_blocks() -> None:
    store = LogStore(capacity=64, block_lines=16, lower_cache_ratio=1.0)
    _fill(store, [f"{i} First".encode() for i in range(64)])
    first_blocks = [b for b in store.blocks if b.sealed is not None]
    for block in first_blocks:
        store.lowered(block)
    assert all(b.lowered is not None for b in first_blocks)
    before = store.lowered_bytes
    assert before > 0
    # Wrap the ring twice: every cached block is dropped and its copy released and uncounted.
    _fill(store, [f"{i} Second".encode() for i in range(128)])
    assert all(b.lowered is None for b in first_blocks)
    assert all(b not in store.blocks for b in first_blocks)
    assert store.lowered_bytes == 0
    # The new blocks get copies of their own text (nothing stale from the old ones).
    for block in store.blocks:
        if block.sealed is not None:
            assert store.lowered(block) == block.buffer.lower()
            assert b"first" not in store.lowered(block)
    assert store.lowered_bytes == sum(len(b.lowered or b"") for b in store.blocks)
    store.clear()
    assert store.lowered_bytes == 0


def test_a_block_dropped_while_being_lowered_is_not_cached() -> None:
    store = LogStore(capacity=32, block_lines=16, lower_cache_ratio=1.0)
    _fill(store, [b"x Y"] * 32)
    old = store.blocks[0]
    _fill(store, [b"z"] * 32)  # ``old`` left the ring (a scan may still hold it)
    assert old not in store.blocks
    assert store.lowered(old) == old.buffer.lower()
    assert old.lowered is None and store.lowered_bytes == 0


@pytest.mark.parametrize("vector", [False, True])
@pytest.mark.parametrize("ratio", [0.0, 0.4, 1.0])
def test_case_insensitive_filters_agree_with_reference_across_wrap_around(
    ratio: float, vector: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import postaltop.core.matcher_text as matcher
    from postaltop.core import bytescan

    if vector and not bytescan.AVAILABLE:
        pytest.skip("numpy is not installed")
    monkeypatch.setattr(matcher, "_VECTOR", vector)
    spellings = [
        b"unqueue",
        b"UNQUEUE",
        b"Unqueue",
        b"unQueue",
        b"caf\xc3\xa9",
        b"CAF\xc3\xa9",
        b"CAF\xc3\x89",
    ]
    store = LogStore(capacity=300, block_lines=16, lower_cache_ratio=ratio)
    k = 0
    for _round in range(6):
        batch = []
        for _ in range(97):
            k += 1
            dense = (k // 48) % 2 == 0  # dense and sparse stretches: both search strategies run
            word = spellings[k % len(spellings)] if dense or k % 13 == 0 else b"other"
            batch.append(b"%d \xff start %s tail" % (k, word))
        for i, text in enumerate(batch):
            store.append(text, NOW, Level.WARN if i % 5 == 0 else Level.INFO)
        for query, word in (("unqueue", b"unqueue"), ("café", "café".encode()), ("CAFÉ", "CAFÉ".encode())):
            assert _scan(store, query) == _ci_reference(store, word), (query, ratio)
        # A selective first term sends the word down the per-candidate path.
        warn = {s for s in range(store.start_seq, store.end_seq) if store.event(s).level == Level.WARN}
        expected = [s for s in _ci_reference(store, b"unqueue") if s in warn]
        assert expected and _scan(store, "level>=warn unqueue") == expected
        assert store.lowered_bytes <= ratio * sum(len(b.buffer) for b in store.blocks if b.sealed is not None)
    assert _ci_reference(store, b"unqueue")  # the data really holds matches
    assert _ci_reference(store, "café".encode()) != _ci_reference(store, "CAFÉ".encode())


@pytest.mark.parametrize("vector", [False, True])
@pytest.mark.parametrize("word", ["unqueue", "Ab", "x" * 40])
def test_dense_search_finds_words_across_find_window_edges(
    word: str, vector: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dense path searches in 16 KiB windows: a word straddling a window edge is still found.

    With ``vector`` the block is searched whole (numpy) and no lower-cased copy is made."""
    import postaltop.core.matcher_text as matcher
    from postaltop.core import bytescan

    if vector and not bytescan.AVAILABLE:
        pytest.skip("numpy is not installed")
    monkeypatch.setattr(matcher, "_VECTOR", vector)
    size = 3000
    store = LogStore(capacity=1_000, block_lines=16, lower_cache_ratio=1.0)

    def line(k: int, at: int | None) -> bytes:
        body = bytearray(b"." * size)
        if at is not None:
            body[at : at + len(word)] = word.upper().encode()
        return bytes(body)

    _fill(store, [line(k, 100) for k in range(16)])  # a dense block: the next one takes the lowered path
    stride = size + 1
    # Block 2: the word across byte 16384 (in line 5) and across byte 32768 (in line 10).
    edges = {5: 16384 - 3 - 5 * stride, 10: 32768 - 2 - 10 * stride}
    _fill(store, [line(k, edges.get(k)) for k in range(16)])
    expected = [*range(16), 16 + 5, 16 + 10]
    assert _scan(store, word) == expected == _ci_reference(store, word.encode())
    if vector:
        assert store.lowered_bytes == 0
    else:
        assert store.blocks[1].lowered is not None  # the second block really went through the copy
