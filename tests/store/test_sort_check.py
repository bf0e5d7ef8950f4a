"""The writer's quick sortedness check agrees with a row-by-row comparison."""

from __future__ import annotations

from itertools import pairwise

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab.store.writer import _is_sorted
from tests.strategies import DETERMINISTIC


def reference_is_sorted(frame: pl.DataFrame, keys: list[str]) -> bool:
    rows = frame.select(keys).rows()
    return all(a <= b for a, b in pairwise(rows))


@st.composite
def keyed_frames(draw):
    """Frames with a string, an integer and a timestamp key drawn from few values (many ties)."""
    n = draw(st.integers(0, 40))
    names = draw(
        st.lists(st.sampled_from(["S1", "S10", "S2", "upper_arm_right", "ab"]), min_size=n, max_size=n)
    )
    side = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    time = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    frame = pl.DataFrame(
        {"name": names, "side": side, "time": pl.Series(time, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))}
    )
    if draw(st.booleans()):
        frame = frame.sort(["name", "side", "time"])
        if n > 1 and draw(st.booleans()):  # one swap of neighbours
            i = draw(st.integers(0, n - 2))
            order = list(range(n))
            order[i], order[i + 1] = order[i + 1], order[i]
            frame = frame[order]
    return frame


@settings(DETERMINISTIC, max_examples=300)
@given(
    frame=keyed_frames(),
    keys=st.sampled_from([["name"], ["name", "time"], ["name", "side", "time"], ["side", "time"]]),
)
def test_quick_sort_check_agrees_with_comparing_rows(frame, keys):
    assert _is_sorted(frame, keys) == reference_is_sorted(frame, keys)
