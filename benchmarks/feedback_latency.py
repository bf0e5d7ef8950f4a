"""Sample-to-cue CPU latency of the live feedback engine, against anchors measured in the same run.

Simulated sets (realistic sensor errors, no magnetometer, 200 Hz, some reps stopping short so that
``deeper`` cues fire) are fed to :class:`imurehab.feedback.FeedbackEngine` packet by packet, in arrival
order, with packets as an OSP notification at the preferred ATT MTU carries them (acc + gyr). For every
``push`` that returns a cue (``rep``, ``deeper``, ``slower``, ``faster``, ``compensation``) the wall time
of that call (``time.perf_counter_ns``, one thread, nothing else running) is the sample-to-cue latency:
the packet holding the sample that completes the repetition or crosses the threshold goes in, the event
comes out. Waiting for the other sensor's packet is radio time, not CPU, and is not counted. The one
push per set that calibrates the joint (``ready``) is reported on its own, and so are the pushes that
re-run the hinge's lever-arm heading test after a repetition (they return no cue by design).
Targets: median < 10 ms, p99 < 50 ms.

Anchors from the same run: (a) per-sample VQF alone — ``vqf.VQF.update`` called once per sample of a
packet in Python, for each sensor the engine uses, i.e. the least a per-sample causal estimator costs per
packet; (b) the batch pipeline (:func:`imurehab.pipeline.process_recording`, offline fusion, calibration
and reps on the whole set) on the same data, against the engine's total CPU for the set.

Usage: ``python benchmarks/feedback_latency.py [--seeds N]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import vqf

from imurehab.exercises import load_template
from imurehab.feedback import FeedbackEngine
from imurehab.pipeline import process_recording
from imurehab.protocols.osp import max_samples_per_frame
from imurehab.simulate import SensorErrorModel, simulate_session

RATE_HZ = 200.0
PACKET = max_samples_per_frame(247, 0b011)  # acc + gyr at the preferred MTU
CUES = {"rep", "deeper", "slower", "faster", "compensation"}
SETS = [
    ("seated-knee-extension", {"incomplete_reps": 3}),
    ("squat", {"incomplete_reps": 3}),
    ("elbow-flexion", {"compensation": "trunk-sway", "compensated_reps": 3}),
    ("shoulder-abduction", {"compensation": "trunk-lean", "compensated_reps": 3}),
]


def run_set(movement: str, options: dict[str, object], seed: int) -> dict[str, object]:
    sim = simulate_session(
        movement, errors=SensorErrorModel.realistic(), with_mag=False, seed=seed, rate_hz=RATE_HZ, **options
    )
    rec = sim.recording
    engine = FeedbackEngine(load_template(movement), rec.session.placements, RATE_HZ)
    n = min(len(s.time_us) for s in rec.sensors)
    cue_ns, ready_ns, recheck_ns, all_ns = [], [], [], []
    paths = []
    for k in range(0, n, PACKET):
        for s in rec.sensors:
            part = slice(k, min(k + PACKET, n))
            rechecks = engine.rechecks
            t0 = time.perf_counter_ns()
            events = engine.push(s.sensor_id, s.time_us[part], s.acc[part], s.gyr[part])
            dt = time.perf_counter_ns() - t0
            all_ns.append(dt)
            kinds = {e.kind for e in events}
            paths += [
                e.values["heading"] + (" (switched)" if e.values.get("changed") else "")
                for e in events
                if e.kind in ("ready", "heading")
            ]
            if "ready" in kinds:
                ready_ns.append(dt)
            elif engine.rechecks > rechecks:
                recheck_ns.append(dt)
            elif kinds & CUES:
                cue_ns.append(dt)
    # Anchor (a): per-sample VQF on every packet of the sensors the engine uses.
    vqf_ns = []
    for s in rec.sensors:
        if s.sensor_id not in engine.sensors:
            continue
        f = vqf.VQF(1.0 / RATE_HZ)
        for k in range(0, n, PACKET):
            t0 = time.perf_counter_ns()
            for i in range(k, min(k + PACKET, n)):
                f.update(s.gyr[i], s.acc[i])
            vqf_ns.append(time.perf_counter_ns() - t0)
    t0 = time.perf_counter()
    process_recording(rec, exercise=movement)
    batch_s = time.perf_counter() - t0
    return {
        "cue_ns": cue_ns,
        "ready_ns": ready_ns,
        "recheck_ns": recheck_ns,
        "paths": " -> ".join(paths),
        "all_ns": all_ns,
        "vqf_ns": vqf_ns,
        "engine_s": sum(all_ns) / 1e9,
        "batch_s": batch_s,
        "reps": engine.reps,
        "truth": sum(r.joint == engine.template.joint and r.side == engine.side for r in sim.truth.reps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    # Warm up (numba kernels of the batch fusion compile on first use; the first engine pulls in scipy).
    run_set("squat", {}, 99)
    print(f"{PACKET} samples per packet at {RATE_HZ:g} Hz; {args.seeds} seeds per exercise\n")
    cue, ready, recheck, vqf_ns, engine_s, batch_s = [], [], [], [], 0.0, 0.0
    for movement, options in SETS:
        rows = [run_set(movement, options, seed) for seed in range(1, args.seeds + 1)]
        c = np.concatenate([r["cue_ns"] for r in rows]) / 1e6
        a = np.concatenate([r["all_ns"] for r in rows]) / 1e6
        counts = " ".join(f"{r['reps']}/{r['truth']}" for r in rows)
        print(
            f"{movement:24s} cues {len(c):4d}: median {np.median(c):6.2f} ms"
            f"  p99 {np.percentile(c, 99):6.2f} ms"
            f" | every push median {np.median(a):5.2f} ms | reps live/truth {counts}"
        )
        print(f"{'':24s} heading decision per set: {'; '.join(r['paths'] for r in rows)}")
        cue += [c]
        ready += [np.array(r["ready_ns"]) / 1e6 for r in rows]
        recheck += [np.array(r["recheck_ns"]) / 1e6 for r in rows]
        vqf_ns += [np.array(r["vqf_ns"]) / 1e6 for r in rows]
        engine_s += sum(r["engine_s"] for r in rows)
        batch_s += sum(r["batch_s"] for r in rows)
    c, rd, v = np.concatenate(cue), np.concatenate(ready), np.concatenate(vqf_ns)
    med, p99 = float(np.median(c)), float(np.percentile(c, 99))
    print(
        f"\nsample-to-cue CPU latency, {len(c)} cues: median {med:.2f} ms (target < 10), "
        f"p99 {p99:.2f} ms (target < 50)"
    )
    print(
        f"calibration push (once per set, {len(rd)} sets): median {np.median(rd):.1f} ms, "
        f"max {rd.max():.1f} ms"
    )
    rc = np.concatenate(recheck)
    if len(rc):
        print(
            f"heading re-check pushes (after a rep, no cue in them; {len(rc)}): "
            f"median {np.median(rc):.1f} ms, max {rc.max():.1f} ms"
        )
    print(
        f"anchor (a) per-sample VQF on one packet: median {np.median(v):.3f} ms "
        f"-> cue latency / anchor = {med / np.median(v):.1f}x"
    )
    print(
        f"anchor (b) batch pipeline on the same sets: {batch_s:.2f} s; engine, all pushes: {engine_s:.2f} s "
        f"-> engine / batch = {engine_s / batch_s:.2f}x"
    )


if __name__ == "__main__":
    main()
