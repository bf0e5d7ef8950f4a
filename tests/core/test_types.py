from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab import (
    DataValidationError,
    DuplicateSensorError,
    IdentifierError,
    ImurehabError,
    NonFiniteError,
    Recording,
    SensorInfo,
    SensorSamples,
    SessionInfo,
    ShapeError,
    TimeOrderError,
    UnitsError,
)
from imurehab.types import datetime_to_us, us_to_datetime

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def make(n=50, sid="S1", **kw):
    info = kw.pop("info", SensorInfo(sid, "generic", 100.0))
    base = {
        "time_us": datetime_to_us(T0) + np.arange(n) * 10_000,
        "acc": np.tile([0.1, 0.2, 9.81], (n, 1)),
        "gyr": np.zeros((n, 3)),
    }
    base.update(kw)
    return SensorSamples(info=info, **base)


def test_valid_samples_are_read_only_and_typed():
    s = make()
    assert s.time_us.dtype == np.int64 and s.acc.dtype == np.float64 and s.flags.dtype == np.uint16
    assert np.array_equal(s.sample_index, np.arange(50))
    with pytest.raises(ValueError):
        s.acc[0, 0] = 1.0
    assert s.duration_s == pytest.approx(0.49)
    assert s.lost_samples() == 0


def test_non_monotonic_time_names_sensor_column_and_sample():
    t = datetime_to_us(T0) + np.arange(10) * 10_000
    t[6] = t[5]
    with pytest.raises(TimeOrderError) as e:
        make(10, time_us=t)
    assert (e.value.sensor_id, e.value.column, e.value.index) == ("S1", "time_us", 6)
    assert isinstance(e.value, ImurehabError)


def test_non_monotonic_sample_index():
    with pytest.raises(TimeOrderError) as e:
        make(5, sample_index=[0, 1, 3, 3, 4])
    assert e.value.column == "sample_index" and e.value.index == 3


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(bad):
    acc = np.tile([0.0, 0.0, 9.81], (20, 1))
    acc[7, 1] = bad
    with pytest.raises(NonFiniteError) as e:
        make(20, acc=acc)
    assert (e.value.column, e.value.index) == ("acc", 7)


@pytest.mark.parametrize(
    ("kw", "column"),
    [
        ({"acc": np.zeros((50, 2))}, "acc"),
        ({"gyr": np.zeros((49, 3))}, "gyr"),
        ({"mag": np.zeros((50,))}, "mag"),
        ({"sample_index": np.arange(3)}, "sample_index"),
        ({"flags": np.zeros(3, np.uint16)}, "flags"),
        ({"time_us": np.zeros((50, 1), np.int64)}, "time_us"),
    ],
)
def test_wrong_shapes(kw, column):
    with pytest.raises(ShapeError) as e:
        make(**kw)
    assert e.value.column == column


def test_units_flag_and_magnitude_checks():
    with pytest.raises(UnitsError) as e:
        make(units="g")
    assert e.value.column == "units"
    with pytest.raises(UnitsError, match="given in g"):
        make(acc=np.tile([0.0, 0.0, 1.0], (50, 1)))
    gyr = np.zeros((50, 3))
    gyr[10, 2] = 180.0
    with pytest.raises(UnitsError, match="deg/s") as e:
        make(gyr=gyr)
    assert e.value.index == 10


def test_from_units_converts_to_si():
    n = 10
    s = SensorSamples.from_units(
        SensorInfo("S1", "generic", 100.0),
        np.arange(n) * 10_000,
        np.tile([0.0, 0.0, 1.0], (n, 1)),
        np.tile([0.0, 0.0, 90.0], (n, 1)),
        np.tile([0.2, 0.0, -0.4], (n, 1)),
        acc_unit="g",
        gyr_unit="deg/s",
        mag_unit="gauss",
    )
    assert s.acc[0, 2] == pytest.approx(9.80665)
    assert s.gyr[0, 2] == pytest.approx(np.pi / 2)
    assert s.mag[0, 0] == pytest.approx(20.0)
    with pytest.raises(UnitsError, match="unknown unit"):
        SensorSamples.from_units(
            SensorInfo("S1", "generic", 100.0), [0], [[0, 0, 1]], [[0, 0, 0]], acc_unit="G!"
        )


@pytest.mark.parametrize("bad", ["", "a b", "../x", "x/y", "subject=1", "-lead", "é", "x" * 65])
def test_bad_identifiers(bad):
    with pytest.raises(IdentifierError):
        SessionInfo(session_id="s1", subject_id=bad, start_time=T0)
    with pytest.raises(IdentifierError):
        SensorInfo(bad, "generic", 100.0)


def test_duplicate_sensor_ids():
    sess = SessionInfo("s1", "p1", T0)
    with pytest.raises(DuplicateSensorError) as e:
        Recording(sess, (make(sid="A"), make(sid="A")))
    assert e.value.sensor_id == "A"


def test_placement_checks():
    with pytest.raises(DataValidationError, match="unknown segment"):
        SessionInfo("s1", "p1", T0, placements={"A": "knee_right"})
    with pytest.raises(DataValidationError, match="not in the recording"):
        Recording(SessionInfo("s1", "p1", T0, placements={"B": "thigh_right"}), (make(sid="A"),))


def test_naive_start_time_rejected_and_timezones_normalised():
    with pytest.raises(DataValidationError, match="timezone"):
        SessionInfo("s1", "p1", datetime(2026, 1, 1))
    cet = timezone(timedelta(hours=1))
    s = SessionInfo("s1", "p1", datetime(2026, 1, 1, 10, tzinfo=cet))
    assert s.start_time == datetime(2026, 1, 1, 9, tzinfo=UTC)


def test_rate_must_be_positive():
    with pytest.raises(DataValidationError, match="rate_hz"):
        SensorInfo("S1", "generic", 0.0)


def test_recording_lookup_and_equality():
    rec = Recording(
        SessionInfo("s1", "p1", T0, placements={"A": "thigh_right"}), (make(sid="A"), make(sid="B"))
    )
    assert rec.sensor_ids == ["A", "B"]
    assert rec.sensor_on("thigh_right").sensor_id == "A"
    with pytest.raises(KeyError):
        rec.sensor_on("shank_left")
    assert rec.equals(Recording(rec.session, (make(sid="B"), make(sid="A"))))
    other = make(sid="B", acc=np.tile([0.1, 0.2, 9.8], (50, 1)))
    assert not rec.equals(Recording(rec.session, (make(sid="A"), other)))


@settings(max_examples=200, derandomize=True)
@given(st.integers(min_value=-(2**62) // 1000, max_value=2**62 // 1000))
def test_datetime_us_round_trip(us):
    try:
        when = us_to_datetime(us)
    except OverflowError:
        return
    assert datetime_to_us(when) == us
