"""Journaled Polar offline recordings: read and verify their .REC files, and the clock probe's model.

A recording's journal folder (written by :mod:`imurehab.ble.polar_offline`) holds ``meta.json``
(``source: "offline"``, the device directory and its files with their listed sizes), ``files/`` (each
.REC file exactly as downloaded), ``verified.json`` once verified, and ``probe.json`` (the clock probe's
frame arrivals and read round trips of the sync that fetched it).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from imurehab.ble.clock import MAX_DRIFT_PPM, fit_arrival_clock, with_read_latency
from imurehab.ble.files import read_json
from imurehab.errors import ImurehabError, ProtocolError
from imurehab.protocols.polar_pmd import (
    OfflineRecording,
    decode_offline_recording,
    measurement_from_file_name,
)
from imurehab.types.clock import ClockModel

__all__ = ["is_offline", "probe_clock", "read_recording", "verify_recording"]

_PART: Final = re.compile(r"[A-Z]+(\d*)\.REC")
_DRIFT_SPAN_US: Final = 600_000_000  # probes spanning less than this leave the drift unmeasured [µs]


def is_offline(folder: Path) -> bool:
    """Whether a ``stream-…`` journal folder holds an offline recording.

    Parameters
    ----------
    folder : Path
        The journal folder.
    """
    return (read_json(folder / "meta.json") or {}).get("source") == "offline"


def read_recording(folder: Path) -> dict[str, OfflineRecording]:
    """Decode a journaled recording: per measurement (ACC, GYRO, MAG), its parts joined in order.

    Parameters
    ----------
    folder : Path
        The recording's journal folder.

    Returns
    -------
    dict of str to OfflineRecording
        Measurements of ``meta.json``'s files that imurehab decodes (others are left out).

    Raises
    ------
    ImurehabError
        A listed file missing or of another size than listed; a part that does not decode or does not
        follow the previous one in time (the :class:`~imurehab.errors.ProtocolError` of
        :func:`~imurehab.protocols.polar_pmd.decode_offline_recording`).
    """
    meta = read_json(folder / "meta.json") or {}
    parts: dict[str, list[tuple[int, bytes]]] = {}
    for name, size in sorted(meta.get("files", {}).items()):
        path = folder / "files" / name
        if not path.exists() or path.stat().st_size != size:
            raise ImurehabError(f"{path}: missing or not the {size} bytes listed")
        try:
            measurement = measurement_from_file_name(name)
        except ProtocolError:
            continue
        if measurement in ("acc", "gyro", "mag"):
            found = _PART.fullmatch(name)
            number = int(found.group(1) or 0) if found else 0
            parts.setdefault(measurement, []).append((number, path.read_bytes()))
    return {m: decode_offline_recording([d for _, d in sorted(p)]) for m, p in parts.items()}


def verify_recording(folder: Path) -> None:
    """Check that a journaled recording is whole (see :func:`read_recording`); raise if it is not.

    Parameters
    ----------
    folder : Path
        The recording's journal folder.
    """
    if not read_recording(folder):
        raise ImurehabError(f"{folder}: no ACC, GYRO or MAG file")


def probe_clock(arrivals: list[tuple[int, int]], read_round_trip_us: Sequence[int] = ()) -> ClockModel:
    """The sensor clock from the sync's probe: offset measured, drift only bounded.

    A few seconds of arrivals cannot measure a crystal's drift (their latency scatter over seconds is
    hundreds of ppm), so unless the arrivals span :data:`_DRIFT_SPAN_US` the model keeps the fitted
    offset at the probe, drift 0 and ``drift_sigma_ppm`` = :data:`~imurehab.ble.clock.MAX_DRIFT_PPM`:
    a sample recorded D seconds before the probe is placed within ``uncertainty + 500 ppm × D``. The
    offset is then moved by half the least read round trip (:func:`~imurehab.ble.clock.with_read_latency`).

    Parameters
    ----------
    arrivals : list of (int, int)
        (host time [µs, UTC], frame's last sample on the sensor clock [µs]).
    read_round_trip_us : sequence of int
        Round trips of the GATT reads timed after the probe [µs] (none: no correction).

    Returns
    -------
    ClockModel
        Sensor clock [µs] → UTC [µs].
    """
    host = [h for h, _ in arrivals]
    model = fit_arrival_clock(host, [d for _, d in arrivals])
    if max(host) - min(host) < _DRIFT_SPAN_US:
        # offset at ref_utc_us, the middle of the probe: a drift of 500 ppm moves it less than spread
        spread = MAX_DRIFT_PPM * 1e-6 * (max(host) - min(host)) / 2
        model = dataclasses.replace(
            model,
            drift_ppm=0.0,
            drift_sigma_ppm=MAX_DRIFT_PPM,
            uncertainty_us=model.uncertainty_us + spread,
        )
    return with_read_latency(model, read_round_trip_us)
