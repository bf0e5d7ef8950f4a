"""Sync throughput against the raw virtual bus, and CPU cost per sensor of live streaming.

1. Sync: one virtual OSP sensor with a logged session, synced by :func:`imurehab.ble.sync` over the
   virtual air. Throughput is the log bytes received (``SensorReport.received_bytes``) over the wall time
   of the download phase (first ``"reading"`` progress event to ``"downloaded"``: without connecting,
   clock measurement and dataset writing), divided by the raw 244-byte notification throughput of the
   same bus measured in the same run (:func:`ble_raw.measure`). Target >= 90%.

   Two buses. *Radio-paced*: the air gives every LE data packet its time on air at the 2M PHY
   (:class:`imurehab.virtual.Airtime`, an ideal link without connection-event gaps), so, as on a real
   link, the radio is the bottleneck and the ratio shows what the sync protocol and ingest leave of the
   link: CHUNK framing (228 log bytes per 244-byte notification, at most 93.4%), the READ round trip
   and END. The target is judged on this bus. *Unpaced*: packets go as fast as this process runs them;
   the emulated sensor, Bumble and the host share one CPU, so the ratio there is CPU cost per chunk
   (ours and the emulator's) against Bumble's per-packet cost, printed for reference.

   The whole ``sync`` call is also timed: it includes measuring the device clock over a span that grows
   with the age of the oldest logged sample (1/30 of it, at least 2 s: see ``RetryPolicy``), which on the
   unpaced bus far exceeds the download itself.
2. Streaming: 1 and 4 sensors at 200 Hz for a few seconds each with :func:`imurehab.ble.stream`; process
   CPU time (``time.process_time``) during the stream minus the same air idling for the same wall time.
   The virtual air (Bumble, the simulated sensors) runs in this process, so its work is included: the
   figure is an upper bound of the host's cost.

Usage: ``python benchmarks/ble.py [--minutes M] [--paced-minutes M] [--stream-seconds S]``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ble_raw import measure

from imurehab.ble import stream, sync
from imurehab.virtual import Airtime, VirtualBleakClient, VirtualBleakScanner, VirtualScenario

RATE_HZ = 200.0


async def sync_once(
    minutes: float, workdir: Path, airtime: Airtime | None = None
) -> tuple[int, float, float]:
    """Received log bytes, whole-sync wall time [s] and download-phase wall time [s] of one sensor."""
    scenario = VirtualScenario(1, minutes, RATE_HZ, "walking", (), 0)
    _ = scenario.sensors  # build the simulated logs before any clock runs
    marks: dict[str, float] = {}

    def progress(event: object) -> None:
        phase = getattr(event, "phase", "")
        if phase == "reading":
            marks.setdefault("reading", time.perf_counter())
        elif phase == "downloaded":
            marks["downloaded"] = time.perf_counter()

    async with scenario.start(airtime=airtime):
        start = time.perf_counter()
        report = await sync(
            scenario.addresses,
            workdir / f"sync-{'paced' if airtime else 'unpaced'}",
            client_backend=VirtualBleakClient,
            scanner_backend=VirtualBleakScanner,
            progress=progress,
        )
        whole = time.perf_counter() - start
    if not report.complete:
        raise RuntimeError(f"sync incomplete: {report.to_json()}")
    received = sum(s.received_bytes for s in report.sensors)
    return received, whole, marks["downloaded"] - marks["reading"]


async def stream_cpu(n_sensors: int, seconds: float, workdir: Path) -> tuple[float, float, int]:
    """CPU seconds while streaming, CPU seconds of the idle air for as long, and samples received."""
    scenario = VirtualScenario(n_sensors, 0.5, RATE_HZ, "walking", (), 1)
    _ = scenario.sensors
    async with scenario.start():
        cpu0 = time.process_time()
        await asyncio.sleep(seconds)
        idle = time.process_time() - cpu0
        cpu0 = time.process_time()
        report = await stream(
            scenario.addresses,
            workdir / f"stream{n_sensors}",
            seconds=seconds,
            client_backend=VirtualBleakClient,
        )
        busy = time.process_time() - cpu0
    samples = sum(s.samples for s in report.sensors)
    return busy, idle, samples


async def run(minutes: float, paced_minutes: float, stream_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(f"sync throughput, 1 virtual OSP sensor, walking logged at {RATE_HZ:g} Hz")
        print(
            f"{'bus':<30}{'logged':>8}{'log MB':>8}{'raw MB/s':>10}{'sync MB/s':>11}"
            f"{'of raw':>8}{'whole call s':>14}"
        )
        ratios = {}
        for label, airtime, span in (
            ("radio-paced (2M PHY airtime)", Airtime("2M"), paced_minutes),
            ("unpaced (CPU-bound)", None, minutes),
        ):
            raw = max(
                [await measure(3_000 if airtime else 20_000, airtime=airtime) for _ in range(2)],
                key=lambda t: t.bytes_per_s,
            )
            received, whole_s, download_s = await sync_once(span, workdir, airtime)
            ratio = received / download_s / raw.bytes_per_s
            ratios[label] = ratio
            print(
                f"{label:<30}{span:>6g} m{received / 1e6:>8.2f}{raw.bytes_per_s / 1e6:>10.3f}"
                f"{received / download_s / 1e6:>11.3f}{ratio:>8.0%}{whole_s:>14.1f}"
            )
        paced = ratios["radio-paced (2M PHY airtime)"]
        verdict = "PASS" if paced >= 0.9 else "FAIL"
        print(f"ratio on the radio-paced bus (download phase / raw): {paced:.1%}  target >= 90%: {verdict}")
        print("(CHUNK framing alone caps it at 228/244 = 93.4%)")
        print()
        print(
            f"live streaming CPU at {RATE_HZ:g} Hz, {stream_seconds:g} s per run, minus the idle air "
            "(upper bound: includes the virtual air's own Bumble work)"
        )
        header = f"{'sensors':>7}{'CPU s':>9}{'idle s':>9}{'samples':>10}"
        print(f"{header}{'ms/sensor-s':>13}{'% core/sensor':>15}")
        for n in (1, 4):
            busy, idle, samples = await stream_cpu(n, stream_seconds, workdir)
            per = max(busy - idle, 0.0) / (n * stream_seconds)
            print(f"{n:>7}{busy:>9.2f}{idle:>9.2f}{samples:>10,}{per * 1e3:>13.1f}{per:>15.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="logged minutes, unpaced bus")
    parser.add_argument("--paced-minutes", type=float, default=3.0, help="logged minutes, paced bus")
    parser.add_argument("--stream-seconds", type=float, default=5.0, help="seconds per streaming run")
    args = parser.parse_args()
    asyncio.run(run(args.minutes, args.paced_minutes, args.stream_seconds))


if __name__ == "__main__":
    main()
