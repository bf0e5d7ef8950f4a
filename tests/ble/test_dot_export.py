"""DOT export bookkeeping and clock placement: what is missing, where to ask again, which rollover."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab.ble.clock import fit_arrival_clock
from imurehab.ble.dot import DotRequest, dot_serial
from imurehab.ble.dot_clock import clocks_for_export, place_recording
from imurehab.ble.dot_download import _ranges
from imurehab.ble.dot_export import ExportProgress, messages
from imurehab.errors import DataValidationError
from imurehab.protocols.movella_dot import export_file_data, recording_payload


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 60), st.sets(st.integers(0, 59)), st.sets(st.integers(0, 59), max_size=3))
def test_progress_asks_from_the_first_missing_number_and_completes_only_at_a_confirmed_end(n, lost, bad):
    p = ExportProgress()
    for k in range(n):
        if k in bad:
            p.invalid.add(k)
        elif k not in lost:
            p.held.add(k)
    top = max(p.held | p.invalid, default=-1)
    gaps = [k for k in range(top + 1) if k not in p.held and k not in p.invalid]
    assert p.missing() == gaps
    assert p.next_request() == (gaps[0] if gaps else top + 1)
    assert not p.complete
    p.end = n
    assert p.missing() == [k for k in range(n) if k not in p.held and k not in p.invalid]
    assert p.complete == (len(p.held) == n)


def test_journal_messages_split_on_their_length_and_a_torn_tail_is_skipped():
    packets = export_file_data([0, 1], [0, 7, 8], time_us=[5, 6], acc=np.zeros((2, 3)), gyr=np.zeros((2, 3)))
    data = b"".join([*packets, recording_payload("ExportFileDataDone")])
    assert list(messages(data)) == [*packets, recording_payload("ExportFileDataDone")]
    assert list(messages(data + packets[0][:5])) == list(messages(data))
    p = ExportProgress()
    assert [p.add(m) for m in messages(data)] == ["data", "data", "done"] and p.held == {0, 1}


@settings(max_examples=100, deadline=None)
@given(st.integers(-3, 2), st.integers(0, 2**32 - 1), st.floats(-200, 200))
def test_a_recording_is_placed_by_the_rollovers_that_match_its_start_second(wraps, r, drift_ppm):
    host = np.arange(0, 2_000_000, 50_000) + 1_700_000_000_000_000
    device = np.rint((host - host[0]) * (1 + drift_ppm * 1e-6)).astype(np.int64) + 10**12
    clock = fit_arrival_clock(host, device)
    true_first = 10**12 + wraps * 2**32 + r  # the recording's first sample on the measured clock
    true_utc = float(clock.to_utc_us(true_first))
    model = place_recording(true_first % 2**32, int(true_utc // 1e6), clock)
    assert abs(float(model.to_utc_us(true_first % 2**32)) - true_utc) < 1.0


def test_a_recording_of_another_clock_epoch_is_anchored_at_its_start_second():
    host = np.arange(0, 2_000_000, 50_000) + 1_700_000_000_000_000
    clock = fit_arrival_clock(host, host - host[0] + 10**9)
    model = place_recording(123, 1_600_000_000, clock, epoch=3)
    assert model.boot_id == 3 and model.uncertainty_us == 1e6
    assert float(model.to_utc_us(123)) == 1_600_000_000.5e6


def test_each_export_is_placed_by_the_clock_measured_at_its_own_sync():
    """A DOT that powered off between two syncs restarted its clock: each recording needs its own."""
    t0 = 1_700_000_000_000_000
    host1, host2 = (
        np.arange(0, 2_000_000, 50_000) + t0 + 20_000_000,
        np.arange(0, 2_000_000, 50_000) + t0 + 80e6,
    )
    one = fit_arrival_clock(host1, host1 - t0 + 10**9)  # device = utc - t0 + 1e9 before the power cycle
    two = fit_arrival_clock(host2.astype(np.int64), host2.astype(np.int64) - t0 + 3 * 10**9)  # after it
    measured = [(int(host1[0]), one), (int(host2[0]), two)]
    # recording A started at t0 + 5 s (device 1e9 + 5e6), exported in the first sync (verified at +23 s)
    a = clocks_for_export(measured, (t0 + 5_000_000) // 10**6, t0 + 23_000_000)
    assert a == [one, two]
    assert (
        float(place_recording(10**9 + 5_000_000, (t0 + 5_000_000) // 10**6, a).to_utc_us(10**9 + 5e6))
        == t0 + 5e6
    )
    # recording B started at t0 + 60 s on the restarted clock, exported in the second sync
    b = clocks_for_export(measured, (t0 + 60_000_000) // 10**6, t0 + 83_000_000)
    assert b == [two]  # the first sync's clock was measured before B started
    first_b = 3 * 10**9 + 60_000_000
    assert float(
        place_recording(first_b % 2**32, (t0 + 60_000_000) // 10**6, b).to_utc_us(first_b % 2**32)
    ) == (t0 + 60e6)
    # journals from before verified.json had host_us: the latest first
    assert clocks_for_export(measured, (t0 + 5_000_000) // 10**6, None) == [two, one]
    # the wrong clock first is skipped when it places the recording away from its start second
    model = place_recording(10**9 + 5_000_000, (t0 + 5_000_000) // 10**6, [two, one])
    assert model.uncertainty_us < 1e6 and float(model.to_utc_us(10**9 + 5e6)) == t0 + 5e6


def test_request_refuses_modes_without_acc_and_gyr_and_rates_a_dot_does_not_stream():
    assert DotRequest().payload_mode == 21 and DotRequest(26, 30).rate_hz == 30
    for mode, rate in ((5, 60), (24, 60), (21, 120), (1, 60)):
        with pytest.raises(DataValidationError):
            DotRequest(mode, rate)


def test_names_and_ranges():
    assert dot_serial("d4:22:cd:00:00:0a") == "DOT-D422CD00000A"
    assert _ranges([1, 2, 3, 7, 9, 10]) == "1–3, 7, 9–10" and _ranges([]) == ""
