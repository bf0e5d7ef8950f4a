"""A simulated dataset of many subjects × sessions, written as a real one would be.

:func:`simulate_dataset` runs :func:`~imurehab.simulate.simulate_session` once per subject and session
(seeds, dates and ids derived from the arguments, so the same call writes the same dataset) and writes
each recording's ``samples`` and ``sessions`` partitions with :func:`imurehab.store.write_recording`. It
is how a coach or researcher tries the tool without sensors, and how tours and notebooks get data.

Examples
--------
>>> import tempfile
>>> from imurehab.simulate.dataset import simulate_dataset
>>> with tempfile.TemporaryDirectory() as root:
...     written = simulate_dataset(root, "walking", subjects=["ath01", "ath02"], sessions=2,
...                                duration_s=10.0, sensors={"S1": "pelvis"})
...     [(w.subject, w.session) for w in written]
[('ath01', 'walking-01'), ('ath01', 'walking-02'), ('ath02', 'walking-01'), ('ath02', 'walking-02')]
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from imurehab.errors import SimulationError
from imurehab.simulate.error_model import SensorErrorModel
from imurehab.simulate.hyrox_race import HyroxRaceOptions
from imurehab.simulate.movements import MOVEMENTS
from imurehab.simulate.session import DEFAULT_START_TIME, simulate_session

__all__ = ["SimulatedSessionWritten", "simulate_dataset"]


@dataclass(frozen=True)
class SimulatedSessionWritten:
    """One simulated session written to the dataset.

    Attributes
    ----------
    subject, session : str
        Its study ids.
    start_time : datetime
        Its first sample's time (UTC).
    duration_s : float
        Its length [s].
    sensors : dict of str to str
        Sensor id → segment.
    seed : int
        The seed it was simulated with.
    """

    subject: str
    session: str
    start_time: datetime
    duration_s: float
    sensors: dict[str, str]
    seed: int


def simulate_dataset(
    root: str | Path,
    movement: str,
    *,
    subjects: Sequence[str] = ("sim01",),
    sessions: int = 1,
    every_days: float = 7.0,
    start_time: datetime | None = None,
    reps: int | None = None,
    duration_s: float | None = None,
    rate_hz: float = 100.0,
    sensors: Mapping[str, str] | None = None,
    with_mag: bool = False,
    ideal: bool = False,
    race_scale: float | None = None,
    seed: int = 0,
    overwrite: bool = False,
    on_session: Callable[[SimulatedSessionWritten], None] | None = None,
) -> list[SimulatedSessionWritten]:
    """Simulate ``sessions`` sessions of ``movement`` for each subject and write them to a dataset.

    Parameters
    ----------
    root : str or Path
        Dataset root.
    movement : str
        A simulated movement (:func:`~imurehab.simulate.list_movements`).
    subjects : sequence of str
        Pseudonymous subject ids.
    sessions : int
        Sessions per subject (≥ 1), ``every_days`` apart, named ``<movement>-01``, ``<movement>-02``, ...
    every_days : float
        Days between a subject's sessions [d].
    start_time : datetime, optional
        First session's start (UTC; default: the simulator's fixed start).
    reps, duration_s : int or float, optional
        As for :func:`~imurehab.simulate.simulate_session` (duration in seconds).
    rate_hz : float
        Sample rate [Hz].
    sensors : mapping of str to str, optional
        Sensor id → segment; default: the movement's own placement.
    with_mag : bool
        9D sensors (default 6D: accelerometer and gyroscope).
    ideal : bool
        Exact signals (:meth:`SensorErrorModel.ideal`) instead of realistic sensor errors.
    race_scale : float, optional
        For ``"hyrox-race"``: fraction of every distance and rep count (1: the real race).
    seed : int
        Base seed; each session's seed is derived from it, the subject and the session number.
    overwrite : bool
        Replace sessions already in the dataset (else writing one raises).
    on_session : callable, optional
        Called after each session is written (progress).

    Returns
    -------
    list of SimulatedSessionWritten
        What was written, subject by subject, in session order.

    Raises
    ------
    SimulationError
        For an unknown movement, no subjects, or out-of-range counts.
    PartitionExistsError
        When a session exists and ``overwrite`` is False.
    """
    from imurehab.store import write_recording

    if movement not in MOVEMENTS:
        raise SimulationError(f"unknown movement {movement!r}; expected one of {sorted(MOVEMENTS)}")
    if not subjects or len(set(subjects)) != len(subjects):
        raise SimulationError("give one or more distinct subject ids")
    if sessions < 1 or every_days < 0:
        raise SimulationError(f"sessions must be ≥ 1 and every_days ≥ 0, got {sessions}, {every_days}")
    if race_scale is not None and movement != "hyrox-race":
        raise SimulationError("race_scale is for the hyrox-race movement only")
    first = start_time or DEFAULT_START_TIME
    written = []
    for subject in subjects:
        for number in range(1, sessions + 1):
            session_seed = zlib.crc32(f"{seed}/{subject}/{number}".encode()) & 0x7FFFFFFF
            sim = simulate_session(
                movement,
                reps=reps,
                duration_s=duration_s,
                rate_hz=rate_hz,
                sensors=sensors,
                errors=SensorErrorModel.ideal() if ideal else None,
                with_mag=with_mag,
                seed=session_seed,
                subject_id=subject,
                session_id=f"{movement}-{number:02d}",
                start_time=first + timedelta(days=every_days * (number - 1)),
                options=None if race_scale is None else HyroxRaceOptions(scale=race_scale),
            )
            write_recording(sim.recording, root, overwrite=overwrite)
            info = sim.recording.session
            s0 = sim.recording.sensors[0]
            done = SimulatedSessionWritten(
                subject=subject,
                session=info.session_id,
                start_time=info.start_time,
                duration_s=float(s0.time_us[-1] - s0.time_us[0]) / 1e6 if len(s0.time_us) else 0.0,
                sensors={
                    s.info.sensor_id: info.placements.get(s.info.sensor_id, "") for s in sim.recording.sensors
                },
                seed=session_seed,
            )
            written.append(done)
            if on_session is not None:
                on_session(done)
    return written
