"""Sync throughput against the raw virtual bus, and CPU cost per sensor of live streaming.

1. Sync: one virtual OSP sensor with a logged session, synced by :func:`imurehab.ble.sync` over the
   virtual air. Throughput is the log bytes received (``SensorReport.received_bytes``) over wall time,
   both for the whole ``sync`` call and for the download phase alone (first ``"reading"`` progress event
   to ``"downloaded"``, so without connecting, clock measurement and dataset writing). The ratio (target
   >= 90%) uses the download phase and divides by the raw 244-byte notification throughput of the same
   bus measured in the same run (:func:`ble_raw.measure`). Scenario building is excluded.
2. Streaming: 1 and 4 sensors at 200 Hz for a few seconds each with :func:`imurehab.ble.stream`; process
   CPU time (``time.process_time``) during the stream minus the same air idling for the same wall time.
   The virtual air (Bumble, the simulated sensors) runs in this process, so its work is included: the
   figure is an upper bound of the host's cost.

Usage: ``python benchmarks/ble.py [--minutes M] [--stream-seconds S]``
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
from imurehab.virtual import VirtualBleakClient, VirtualBleakScanner, VirtualScenario

RATE_HZ = 200.0


async def sync_once(minutes: float, workdir: Path) -> tuple[int, float, float]:
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

    async with scenario.start():
        start = time.perf_counter()
        report = await sync(
            scenario.addresses,
            workdir / "sync",
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


async def run(minutes: float, stream_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        raw = max([await measure(20_000) for _ in range(2)], key=lambda t: t.bytes_per_s)
        received, whole_s, download_s = await sync_once(minutes, workdir)
        whole_bps, download_bps = received / whole_s, received / download_s
        print(
            f"sync throughput, 1 virtual OSP sensor, {minutes:g} min logged at {RATE_HZ:g} Hz "
            f"({received:,} log bytes)"
        )
        print(f"{'measure':<40}{'time s':>9}{'MB/s':>9}{'of raw':>9}")
        print(f"{'raw 244-byte notifications (ble_raw)':<40}{'':>9}{raw.bytes_per_s / 1e6:>9.2f}{'100%':>9}")
        for label, seconds, bps in (
            ("sync, download phase (reading->downloaded)", download_s, download_bps),
            ("sync, whole call (incl. clock, writing)", whole_s, whole_bps),
        ):
            print(f"{label:<40}{seconds:>9.2f}{bps / 1e6:>9.2f}{bps / raw.bytes_per_s:>9.0%}")
        ratio = download_bps / raw.bytes_per_s
        verdict = "PASS" if ratio >= 0.9 else "FAIL"
        print(f"ratio (download phase / raw): {ratio:.0%}  target >= 90%: {verdict}")
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
    parser.add_argument("--minutes", type=float, default=15.0, help="logged minutes to sync")
    parser.add_argument("--stream-seconds", type=float, default=5.0, help="seconds per streaming run")
    args = parser.parse_args()
    asyncio.run(run(args.minutes, args.stream_seconds))


if __name__ == "__main__":
    main()
