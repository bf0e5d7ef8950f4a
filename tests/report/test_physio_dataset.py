"""The physio report's test dataset (three weekly sessions of one subject), and a reader of HTML tables.

Other physio test modules load this file by its path (the test folders are not packages); its own tests
check the dataset is what they rely on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from imurehab import simulate_session
from imurehab.pipeline import ProcessedSession, process_session
from imurehab.store import read_table, write_recording
from imurehab.types import Recording, SampleFlags, SensorSamples

SUBJECT = "p01"
SESSIONS = ("s1", "s2", "s3")
EXERCISE = "seated-knee-extension"
GAP = slice(150, 170)  # samples of S2 lost in the last session, during the rest before the reps
FILLED = slice(400, 405)  # samples of S2 flagged interpolated in the last session
CLOCK_US = 800.0  # S2's clock uncertainty in the last session [µs]
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _with_gap(s: SensorSamples) -> SensorSamples:
    keep = np.ones(len(s), dtype=bool)
    keep[GAP] = False
    flags = s.flags.copy()
    flags[FILLED] |= np.uint16(SampleFlags.INTERPOLATED)
    return SensorSamples(
        replace(s.info, clock_uncertainty_us=CLOCK_US),
        s.time_us[keep],
        s.acc[keep],
        s.gyr[keep],
        None,
        s.sample_index[keep],
        None if s.device_time is None else s.device_time[keep],
        flags[keep],
    )


def write_dataset(root: Path, *, process: bool = True) -> dict[str, ProcessedSession]:
    """Three sessions a week apart, fewer partial repetitions each time (3, 1, 0: mean ROM rises).

    The last session lost 20 samples of S2 (one gap), has 5 samples filled in and a clock bound.
    Returns the processing results by session (empty when ``process`` is False).
    """
    results = {}
    for i, (session, partial) in enumerate(zip(SESSIONS, (3, 1, 0), strict=True)):
        sim = simulate_session(
            EXERCISE,
            reps=5,
            seed=i,
            with_mag=False,
            subject_id=SUBJECT,
            session_id=session,
            start_time=START + timedelta(days=7 * i),
            incomplete_reps=partial,
        )
        rec = sim.recording
        if session == SESSIONS[-1]:
            rec = Recording(
                rec.session, tuple(_with_gap(s) if s.sensor_id == "S2" else s for s in rec.sensors)
            )
        write_recording(rec, root)
        if process:
            results[session] = process_session(root, subject=SUBJECT, session=session)
    return results


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._caption: str | None = None
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._rows, self._caption = [], f"table {len(self.tables)}"
        elif tag == "caption":
            self._in_caption, self._caption = True, ""
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None and self._rows is not None:
            self._rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables[self._caption] = self._rows
            self._rows = None

    def handle_data(self, data):
        if self._in_caption:
            self._caption += data
        elif self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[dict[str, str]]]:
    """Every table of a page by caption (uncaptioned: ``table <n>``), as rows of header → cell text."""
    parser = _Tables()
    parser.feed(html)
    return {
        caption: [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
        for caption, rows in parser.tables.items()
    }


def table(html: str, caption_start: str) -> list[dict[str, str]]:
    """The one table whose caption starts with ``caption_start``."""
    (rows,) = [rows for caption, rows in tables(html).items() if caption.startswith(caption_start)]
    return rows


def test_the_dataset_has_three_processed_sessions_with_a_gap_in_the_last(tmp_path):
    results = write_dataset(tmp_path)
    assert list(results) == list(SESSIONS)
    means = [r.joints[0].summary.rom_mean_deg for r in results.values()]
    assert means == sorted(means)  # the trend the progress section shows
    samples = read_table(tmp_path, "samples", subject=SUBJECT, session="s3", sensor="S2").collect()
    steps = np.diff(samples.get_column("sample_index").to_numpy())
    assert steps.max() == GAP.stop - GAP.start + 1 and (steps > 1).sum() == 1


def test_tables_are_read_by_caption():
    page = (
        "<table><caption>Key <b>figures</b></caption><tr><th>a</th><th>b</th></tr>"
        "<tr><td>1</td><td>x &amp; y</td></tr></table><table><tr><th>c</th></tr><tr><td>2</td></tr></table>"
    )
    assert tables(page) == {"Key figures": [{"a": "1", "b": "x & y"}], "table 1": [{"c": "2"}]}
