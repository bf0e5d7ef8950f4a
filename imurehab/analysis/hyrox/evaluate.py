"""Scoring a race segmentation against reference phases: boundary offsets and time with the right label."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from imurehab.analysis.hyrox.columns import INDEX, LABEL
from imurehab.analysis.hyrox.sequence import STATIONS
from imurehab.store import columns as cols

__all__ = ["Boundary", "Phase", "boundary_offsets", "label_agreement"]

Phase = tuple[str, int, int, int]
"""A reference phase: (label, index, start, end) with times in µs since the Unix epoch (UTC)."""


@dataclass(frozen=True)
class Boundary:
    """One reference boundary between consecutive phases and how far the segmentation put it.

    Attributes
    ----------
    before, after : tuple of (str, int)
        Label and index of the phases on either side.
    offset_s : float or None
        Found minus reference time [s]; None when the segmentation has no such boundary.
    """

    before: tuple[str, int]
    after: tuple[str, int]
    offset_s: float | None

    @property
    def at_station(self) -> bool:
        """Whether a station starts or ends here."""
        return self.before[0] in STATIONS or self.after[0] in STATIONS


def _rows(phases: pl.DataFrame) -> list[Phase]:
    start = phases.get_column(cols.START).dt.epoch("us").to_list()
    end = phases.get_column(cols.END).dt.epoch("us").to_list()
    return list(
        zip(phases.get_column(LABEL).to_list(), phases.get_column(INDEX).to_list(), start, end, strict=True)
    )


def boundary_offsets(found: pl.DataFrame, reference: Sequence[Phase]) -> list[Boundary]:
    """Offset of each reference boundary in a segmentation's ``phases``.

    Parameters
    ----------
    found : polars.DataFrame
        ``RaceSegmentation.phases`` (label, index, start, end).
    reference : sequence of Phase
        The true phases in time order.
    """
    mine = _rows(found)
    at = {((a[0], a[1]), (b[0], b[1]), k): b[2] for k, (a, b) in enumerate(itertools.pairwise(mine))}
    by_pair: dict[tuple[tuple[str, int], tuple[str, int]], list[int]] = {}
    for (pa, pb, _), t in at.items():
        by_pair.setdefault((pa, pb), []).append(t)
    out = []
    for a, b in itertools.pairwise(reference):
        key = ((a[0], a[1]), (b[0], b[1]))
        cands = by_pair.get(key, [])
        offset = min(((t - b[2]) / 1e6 for t in cands), key=abs) if cands else None
        out.append(Boundary(key[0], key[1], offset))
    return out


def label_agreement(found: pl.DataFrame, reference: Sequence[Phase], step_s: float = 0.1) -> float:
    """Fraction of the reference race time where the segmentation has the same label and index.

    Parameters
    ----------
    found : polars.DataFrame
        ``RaceSegmentation.phases``.
    reference : sequence of Phase
        The true phases.
    step_s : float
        Grid step of the comparison [s].
    """
    t = np.arange(reference[0][2], reference[-1][3], int(step_s * 1e6), dtype=np.int64)

    def labels(rows: Sequence[Phase]) -> np.ndarray:
        out = np.full(t.shape, "", dtype=object)
        for label, index, a, b in rows:
            out[(t >= a) & (t < b)] = f"{label}#{index}"
        return out

    return float(np.mean(labels(_rows(found)) == labels(reference)))
