"""``Ring.finite_sum`` reads exactly what summing ``Ring.get`` over the range reads (the hourly means)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from postaltop.monitoring.series import Ring

_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(0, 50).map(float))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(2, 130),
    st.lists(st.tuples(st.integers(-5, 600), _values), max_size=60),
    st.integers(-10, 620),
    st.integers(0, 140),
)
def test_finite_sum_is_the_sum_of_get(
    size: int, writes: list[tuple[int, float]], start: int, span: int
) -> None:
    ring = Ring(size)
    for period, value in writes:
        ring.set(period, value)
    stop = start + min(span, size)
    expected = sum(v for m in range(start, stop) if math.isfinite(v := ring.get(m)))
    found = ring.finite_sum(start, stop)
    assert found == expected and type(found) is type(expected)
