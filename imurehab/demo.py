"""The demo: a simulated knee-rehab session, stored, read back, processed and checked against its truth."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from imurehab.pipeline import JointResult, process_session
from imurehab.simulate import SimulatedSession, SimulationTruth, simulate_session
from imurehab.store import read_recording, write_recording

__all__ = ["DEMO_EXERCISE", "compare_with_truth", "run_demo"]

DEMO_EXERCISE = "seated-knee-extension"
DEMO_SUBJECT = "demo01"
DEMO_SESSION = "knee01"


def compare_with_truth(
    joint: JointResult, sim: SimulatedSession | SimulationTruth, origin_us: int | None = None
) -> dict[str, Any]:
    """Compare a processed joint's flexion and ROM per rep with the simulator's truth.

    Parameters
    ----------
    joint : JointResult
        The processed joint.
    sim : SimulatedSession or SimulationTruth
        The simulation the recording came from (or its truth).
    origin_us : int, optional
        The UTC time [µs since the epoch] of the truth's time zero. Default: the simulated session's
        start (only for a SimulatedSession).

    Returns
    -------
    dict
        ``reps``: per estimated rep its ROM, the matching true rep's ROM and the error [deg] (a rep
        matches the true rep whose window holds its peak); ``rom_mae_deg``, ``rom_max_abs_error_deg``,
        ``flexion_rmse_deg`` (after interpolating the truth onto the estimate's times) and counts.
    """
    truth = sim if isinstance(sim, SimulationTruth) else sim.truth
    if origin_us is None:
        assert isinstance(sim, SimulatedSession), "origin_us is needed with a bare truth"
        origin_us = sim.recording.session.start_us
    key = joint.joint if joint.side is None else f"{joint.joint}_{joint.side}"
    t_s = (joint.time_us - origin_us) / 1e6
    true_flex = np.interp(t_s, truth.time_s, truth.joint_angles[key]["flexion_deg"])
    true_reps = [r for r in truth.reps if r.joint == joint.joint and r.side == joint.side]
    rows = []
    for rep in joint.reps:
        peak_s = t_s[rep.peak]
        match = next((r for r in true_reps if r.start_s <= peak_s <= r.end_s), None)
        rows.append(
            {
                "rep": rep.rep,
                "rom_deg": rep.rom_deg,
                "truth_rep": None if match is None else match.rep,
                "truth_rom_deg": None if match is None else match.rom_deg,
                "error_deg": None if match is None else rep.rom_deg - match.rom_deg,
            }
        )
    errors = np.array([r["error_deg"] for r in rows if r["error_deg"] is not None], dtype=np.float64)
    return {
        "joint": joint.joint,
        "side": joint.side,
        "reps_found": len(joint.reps),
        "reps_truth": len(true_reps),
        "reps": rows,
        "rom_mae_deg": float(np.mean(np.abs(errors))) if errors.size else float("nan"),
        "rom_max_abs_error_deg": float(np.max(np.abs(errors))) if errors.size else float("nan"),
        "flexion_rmse_deg": float(np.sqrt(np.mean((joint.angles.flexion_deg - true_flex) ** 2))),
        "calibration": joint.calibration(),
    }


async def _sync_virtual(out: Path, scenario: Any) -> Any:
    from imurehab.ble import sync
    from imurehab.virtual import VirtualBleakClient, VirtualBleakScanner

    async with scenario.start():
        return await sync(
            scenario.addresses,
            out,
            client_backend=VirtualBleakClient,
            scanner_backend=VirtualBleakScanner,
            subject=DEMO_SUBJECT,
            session=DEMO_SESSION,
        )


def _record_on_virtual_sensors(out: Path, seed: int, reps: int) -> tuple[Any, int]:
    """Record the session on virtual OSP sensors, sync it over virtual BLE, label the placements.

    Returns the scenario and the UTC time [µs] of the truth's time zero (from the thigh sensor's first
    synced sample and its true instant).
    """
    from imurehab.types import Recording, SessionInfo
    from imurehab.virtual import VirtualScenario

    # A seated knee-extension rep takes about 6 s; 2 s of calibration pose come first.
    scenario = VirtualScenario(
        n_sensors=2,
        minutes=(4.0 + 6.2 * reps) / 60.0,
        rate_hz=100.0,
        movement=DEMO_EXERCISE,
        seed=seed,
        channels="acc+gyr+mag",
    )
    report = asyncio.run(_sync_virtual(out, scenario))
    report.raise_for_incomplete()
    rec = read_recording(out, subject=DEMO_SUBJECT, session=DEMO_SESSION)
    by_serial = dict(zip(scenario.serials, scenario.sensor_ids, strict=True))
    placements = {s.sensor_id: scenario.placements[by_serial[s.sensor_id]] for s in rec.sensors}
    session = SessionInfo(
        DEMO_SESSION, DEMO_SUBJECT, rec.session.start_time, placements=placements, exercise=DEMO_EXERCISE
    )
    write_recording(Recording(session, rec.sensors), out, overwrite=True)
    thigh = rec[scenario.serials[0]]
    true_s = scenario.truth.sensors[scenario.sensor_ids[0]].time_s[thigh.sample_index[0]]
    return scenario, int(thigh.time_us[0] - round(true_s * 1e6))


def run_demo(
    out: str | Path,
    *,
    seed: int = 0,
    reps: int = 10,
    progress: Console | None = None,
    virtual_ble: bool = True,
) -> dict[str, Any]:
    """Simulate, store, process and check a seated knee-extension session.

    Parameters
    ----------
    out : str or Path
        Dataset folder; the demo's own session in it is replaced on every run.
    seed : int
        Seed of the simulation.
    reps : int
        Repetitions to simulate.
    progress : rich Console, optional
        Where to show progress (stderr in the CLI); None shows nothing.
    virtual_ble : bool
        Record the session on virtual OSP sensors and sync it over virtual BLE (the real bleak code
        path); False writes the simulated recording directly.

    Returns
    -------
    dict
        A JSON-ready report: dataset, per-joint comparison with the truth, notes, tables and run time.
    """
    began = time.perf_counter()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=progress,
        disable=progress is None,
        transient=True,
    ) as bar:
        task = bar.add_task("Simulating a seated knee-extension session", total=3)
        if virtual_ble:
            bar.update(task, description="Recording on virtual sensors and syncing over virtual BLE")
            scenario, origin_us = _record_on_virtual_sensors(Path(out), seed, reps)
            truth: Any = scenario.truth
        else:
            sim = simulate_session(
                DEMO_EXERCISE,
                reps=reps,
                rate_hz=100.0,
                seed=seed,
                subject_id=DEMO_SUBJECT,
                session_id=DEMO_SESSION,
            )
            bar.update(task, advance=1, description="Writing the recording to Parquet")
            write_recording(sim.recording, out, overwrite=True)
            truth, origin_us = sim.truth, sim.recording.session.start_us
        bar.update(task, advance=1, description="Estimating orientation, knee angles and repetitions")
        result = process_session(out, subject=DEMO_SUBJECT, session=DEMO_SESSION, overwrite=True)
        bar.update(task, advance=1)
    return {
        "dataset": str(out),
        "subject": DEMO_SUBJECT,
        "session": DEMO_SESSION,
        "exercise": DEMO_EXERCISE,
        "seed": seed,
        "recorded_via": "virtual BLE (OSP sensors, bleak over Bumble)" if virtual_ble else "direct",
        "joints": [
            {
                **compare_with_truth(j, truth, origin_us),
                "summary": None if j.summary is None else j.summary.to_dict(),
                "summary_text": None if j.summary is None else j.summary.text(),
            }
            for j in result.joints
        ],
        "notes": result.notes,
        "tables": ["sessions", "samples", "orientation", "joint_angles", "reps"],
        "seconds": time.perf_counter() - began,
    }
