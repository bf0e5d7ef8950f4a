"""The load's sample reader gives each sensor exactly the rows polars reads for it; imports stay light."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imurehab.store import append_table, read_table
from imurehab.store import columns as cols
from imurehab.store import writer as writer_module
from imurehab.store.layout import find_parts
from imurehab.training._samples import SessionSamples, reuse_buffers

KEYS = dict(subject="A1", session="s1")


def samples(sensors: dict[str, int], start_us: int, seed: int) -> pl.DataFrame:
    """``n`` rows per sensor (sensor → n) at 100 Hz from ``start_us``, random quantised acceleration."""
    rng = np.random.default_rng(seed)
    frames = []
    for sensor, n in sensors.items():
        acc = np.round(rng.normal(0.0, 5.0, (n, 3)) * 200) / 200
        frames.append(
            pl.DataFrame(
                {
                    cols.SENSOR: [sensor] * n,
                    cols.SAMPLE_INDEX: np.arange(n, dtype=np.int64),
                    cols.TIME: pl.Series(start_us + np.arange(n, dtype=np.int64) * 10_000).cast(
                        pl.Datetime("us", "UTC")
                    ),
                    **{c: acc[:, k] for k, c in enumerate(cols.ACC)},
                    **{c: np.zeros(n) for c in cols.GYR},
                    cols.FLAGS: pl.Series(np.zeros(n, dtype=np.uint16)),
                }
            )
        )
    return pl.concat(frames)


def expected(root, sensor):
    rows = read_table(root, cols.SAMPLES, **KEYS, sensor=sensor).select(cols.TIME, *cols.ACC).collect()
    rows = rows.sort(cols.TIME, maintain_order=True)
    return rows.get_column(cols.TIME).dt.epoch("us").to_numpy(), rows.select(cols.ACC).to_numpy()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    counts=st.lists(st.integers(1, 700), min_size=1, max_size=4),
    parts=st.integers(1, 3),
    group_rows=st.sampled_from([64, 100, 1000]),
    seed=st.integers(0, 100),
)
def test_each_sensor_reads_what_polars_reads(tmp_path_factory, monkeypatch, counts, parts, group_rows, seed):
    """Row groups holding one sensor, several, or a sensor's tail; parts appended out of time order."""
    monkeypatch.setattr(writer_module, "ROW_GROUP_ROWS", group_rows)
    root = tmp_path_factory.mktemp("ds")
    sensors = {f"S{k}": n for k, n in enumerate(counts)}
    for p in range(parts):
        start = (parts - p) * 3_600_000_000  # later parts hold earlier times
        append_table(samples(sensors, start, seed + p), root, cols.SAMPLES, **KEYS)
    with SessionSamples(find_parts(root, cols.SAMPLES, **KEYS)) as reader:
        for sensor in [*sensors, "absent"]:
            time_us, acc = reader.read(sensor)
            want_time, want_acc = expected(root, sensor)
            np.testing.assert_array_equal(time_us, want_time)
            np.testing.assert_array_equal(acc, want_acc)
            assert acc.flags.f_contiguous and acc.dtype == np.float64 and time_us.dtype == np.int64


def test_a_row_group_shared_by_two_sensors_is_decoded_once(tmp_path, monkeypatch):
    monkeypatch.setattr(writer_module, "ROW_GROUP_ROWS", 256)
    append_table(samples({"S1": 300, "S2": 300}, 0, 1), tmp_path, cols.SAMPLES, **KEYS)
    with SessionSamples(find_parts(tmp_path, cols.SAMPLES, **KEYS)) as reader:
        calls = []
        original = reader._parts[0].file.read_row_groups

        def counting(groups, **kwargs):
            calls.append(tuple(groups))
            return original(groups, **kwargs)

        monkeypatch.setattr(reader._parts[0].file, "read_row_groups", counting)
        reader.read("S1")
        reader.read("S2")
    assert calls == [(0,), (1,), (2,)]  # rows 256-511 hold both sensors: read for S1, reused for S2


@pytest.mark.parametrize("module", ["imurehab.training", "imurehab.analysis.load", "imurehab"])
def test_load_imports_no_ble_fusion_or_simulator(module):
    heavy = ("bleak", "bumble", "cryptography", "imurehab.ble", "imurehab.fusion", "imurehab.simulate")
    code = (
        f"import sys, {module}\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m.startswith({heavy!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_still_comes_from_the_package():
    code = (
        "import imurehab\n"
        "missing = [n for n in imurehab.__all__ if getattr(imurehab, n, None) is None]\n"
        "from imurehab import simulate_session, write_table, BleError\n"
        "print(missing, 'simulate_session' in dir(imurehab))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] True"
    with pytest.raises(AttributeError):
        import imurehab

        _ = imurehab.no_such_name


def test_reused_buffers_never_overwrite_arrays_someone_keeps(tmp_path):
    append_table(samples({"S1": 500, "S2": 400, "S3": 500}, 0, 3), tmp_path, cols.SAMPLES, **KEYS)
    with SessionSamples(find_parts(tmp_path, cols.SAMPLES, **KEYS)) as reader, reuse_buffers():
        kept = {s: reader.read(s) for s in ("S1", "S2", "S3")}  # all three held at once
        again = reader.read("S1")
        reused = id(again[1].base)
        del again
        assert id(reader.read("S2")[1].base) == reused  # released, so filled again
    for sensor, (time_us, acc) in kept.items():
        want_time, want_acc = expected(tmp_path, sensor)
        np.testing.assert_array_equal(time_us, want_time)
        np.testing.assert_array_equal(acc, want_acc)


@given(st.lists(st.booleans(), max_size=60))
def test_row_ranges_cover_exactly_the_selected_rows(mask):
    from imurehab.training._samples import _ranges

    rows = _ranges(np.array(mask, dtype=bool))
    rebuilt = np.zeros(len(mask), dtype=bool)
    for start, stop in rows:
        assert start < stop
        rebuilt[start:stop] = True
    np.testing.assert_array_equal(rebuilt, mask)
    assert rows.shape == (int(np.sum(np.diff(np.array([False, *mask, False]).astype(int)) == 1)), 2)
