"""The sample recordings shipped in ``recordings/``: what they are, and how to make them again.

Each is a simulated session written as an imurehab dataset (subject ``sim01``, one session per entry)
with its truth beside it: ``truth/<session>.json`` (parameters, repetitions, phases) and
``truth/<session>_joint_angles.parquet`` (true joint angles on the truth grid, degrees; one column
``<joint>.<dof>`` per degree of freedom the movement moves, and ``time_s`` since the session start).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import polars as pl

from imurehab.simulate import SimulatedSession, simulate_session
from imurehab.store import write_recording

__all__ = ["SAMPLE_RECORDINGS", "SampleRecording", "make_sample_recording", "write_sample_recordings"]


@dataclass(frozen=True)
class SampleRecording:
    """One shipped sample recording: the arguments it was simulated with.

    Attributes
    ----------
    session_id : str
        Session id in the dataset.
    movement : str
        Movement name (see :func:`imurehab.simulate.list_movements`).
    seed : int
        Random seed.
    reps : int or None
        Repetitions, for repetitive movements.
    duration_s : float or None
        Duration [s], for continuous movements.
    rate_hz : float
        Output data rate [Hz].
    """

    session_id: str
    movement: str
    seed: int
    reps: int | None = None
    duration_s: float | None = None
    rate_hz: float = 100.0


SAMPLE_RECORDINGS: Final[tuple[SampleRecording, ...]] = (
    SampleRecording("knee-ext-01", "seated-knee-extension", seed=11, reps=10),
    SampleRecording("squat-01", "squat", seed=12, reps=8),
    SampleRecording("elbow-01", "elbow-flexion", seed=13, reps=8),
    SampleRecording("walk-01", "walking", seed=14, duration_s=30.0),
)
"""The sample sessions in ``recordings/`` (subject ``sim01``)."""


def make_sample_recording(spec: SampleRecording) -> SimulatedSession:
    """Simulate one sample recording exactly as shipped.

    Parameters
    ----------
    spec : SampleRecording
        Which one.

    Returns
    -------
    SimulatedSession
        The recording (realistic sensor errors) and its truth.
    """
    return simulate_session(
        spec.movement,
        reps=spec.reps,
        duration_s=spec.duration_s,
        rate_hz=spec.rate_hz,
        seed=spec.seed,
        subject_id="sim01",
        session_id=spec.session_id,
    )


def _truth_json(spec: SampleRecording, sim: SimulatedSession) -> dict[str, Any]:
    truth = sim.truth
    return {
        "simulation": asdict(spec),
        "movement": truth.movement,
        "sensors": {sid: seg for sid, seg in sim.recording.session.placements.items()},
        "reps": [asdict(r) for r in truth.reps],
        "phases": [asdict(p) for p in truth.phases],
        "clock": {
            sid: {"offset_s": st.clock_offset_s, "drift_ppm": st.clock_drift_ppm}
            for sid, st in truth.sensors.items()
        },
    }


def write_sample_recordings(root: str | Path) -> list[Path]:
    """Write every sample recording and its truth under ``root`` (the ``recordings/`` folder).

    Parameters
    ----------
    root : str or Path
        Target folder; ``root/dataset`` receives the Parquet dataset, ``root/truth`` the truth files.

    Returns
    -------
    list of Path
        The truth files written.
    """
    root = Path(root)
    (root / "truth").mkdir(parents=True, exist_ok=True)
    written = []
    for spec in SAMPLE_RECORDINGS:
        sim = make_sample_recording(spec)
        write_recording(sim.recording, root / "dataset", overwrite=True)
        path = root / "truth" / f"{spec.session_id}.json"
        path.write_text(json.dumps(_truth_json(spec, sim), indent=1) + "\n")
        frame = {"time_s": sim.truth.time_s}
        for joint, dofs in sorted(sim.truth.joint_angles.items()):
            for dof, values in dofs.items():
                if values.std() > 0:  # joints the movement does not move are left out
                    frame[f"{joint}.{dof}"] = values
        table = root / "truth" / f"{spec.session_id}_joint_angles.parquet"
        pl.DataFrame(frame).write_parquet(table, compression="zstd")
        written += [path, table]
    return written
