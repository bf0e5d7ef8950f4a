"""Column encodings of the files the store writes, and that every reader gets the same values back."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from imurehab.store import columns as cols
from imurehab.store import read_table, write_table

KEYS = dict(subject="001", session="s1")
N = 20_000


def samples(quantised: bool) -> pl.DataFrame:
    rng = np.random.default_rng(7)
    step = 16 * 9.80665 / 32768 if quantised else None

    def channel(scale: float) -> np.ndarray:
        x = rng.normal(0.0, scale, N) + scale * np.sin(np.arange(N) * 0.03)
        return np.round(x / step) * step if step else x

    frame = {
        cols.SENSOR: ["S1"] * N,
        cols.SAMPLE_INDEX: np.arange(N, dtype=np.int64),
        cols.TIME: pl.Series(1_700_000_000_000_000 + np.arange(N) * 5_000).cast(pl.Datetime("us", "UTC")),
        cols.DEVICE_TIME: np.arange(N, dtype=np.int64) * 5_000,
        **{c: channel(9.0) for c in cols.ACC},
        **{c: channel(2.0) for c in cols.GYR},
        cols.FLAGS: np.zeros(N, dtype=np.uint16),
    }
    return pl.DataFrame(frame)


def encodings(path) -> dict[str, set[str]]:
    meta = pq.read_metadata(path)
    group = meta.row_group(0)
    return {group.column(i).path_in_schema: set(group.column(i).encodings) for i in range(group.num_columns)}


@pytest.mark.parametrize("quantised", [True, False])
def test_sensor_samples_get_dictionaries_only_when_quantised_and_times_are_delta_coded(tmp_path, quantised):
    path = write_table(samples(quantised), tmp_path, cols.SAMPLES, **KEYS)
    found = encodings(path)
    for c in (*cols.ACC, *cols.GYR):
        assert ("RLE_DICTIONARY" in found[c]) == quantised, (c, found[c])
    for c in (cols.TIME, cols.DEVICE_TIME, cols.SAMPLE_INDEX):
        assert "DELTA_BINARY_PACKED" in found[c], (c, found[c])
    assert "RLE_DICTIONARY" in found[cols.SENSOR]


@pytest.mark.parametrize("quantised", [True, False])
def test_polars_and_duckdb_read_back_exactly_what_was_written(tmp_path, quantised):
    frame = samples(quantised)
    path = write_table(frame, tmp_path, cols.SAMPLES, **KEYS)
    got = read_table(tmp_path, cols.SAMPLES).collect().drop("subject", "session")
    for c in (cols.SAMPLE_INDEX, cols.DEVICE_TIME, *cols.ACC, *cols.GYR):
        assert np.array_equal(got[c].to_numpy(), frame[c].to_numpy()), c
    assert_frame_equal(got.select(cols.TIME), frame.select(cols.TIME), check_dtypes=False)
    con = duckdb.connect()
    rows = con.execute(
        f"select sample_index, epoch_us(time) as time_us, device_time, {', '.join((*cols.ACC, *cols.GYR))} "
        f"from read_parquet('{path}') order by sample_index"
    ).fetchnumpy()
    assert np.array_equal(rows["sample_index"], frame[cols.SAMPLE_INDEX].to_numpy())
    assert np.array_equal(rows["time_us"], frame[cols.TIME].dt.epoch("us").to_numpy())
    for c in (cols.DEVICE_TIME, *cols.ACC, *cols.GYR):
        assert np.array_equal(rows[c], frame[c].to_numpy()), c
