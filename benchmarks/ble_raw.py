"""Raw notification throughput of the virtual BLE bus: one virtual peripheral to one bleak client.

The peripheral sends ``count`` 244-byte notifications (a full 247-byte ATT MTU) as fast as the bus takes
them; a :class:`bleak.BleakClient` on :class:`~imurehab.virtual.VirtualBleakClient` receives them in a
callback that only counts. Throughput is the count over the time from the first ``notify`` to the last
arrival, best of ``--repeats``. The anchor, measured in the same run, is the same bus with Bumble's
default 27-byte LE ACL buffer; the project's air raises it to 251 bytes.

Other benchmarks divide by this: ``from ble_raw import measure`` (run from ``benchmarks/``) and
``await measure(count)`` in their own run.

Usage: ``python benchmarks/ble_raw.py [--count N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

from bleak import BleakClient

from imurehab.virtual import (
    Airtime,
    CharacteristicSpec,
    ServiceSpec,
    VirtualAir,
    VirtualBleakClient,
    VirtualPeripheral,
)

PAYLOAD_BYTES = 244
SERVICE = "7d2e0001-5a6b-4c3d-8e9f-0a1b2c3d4e5f"
DATA = "7d2e0003-5a6b-4c3d-8e9f-0a1b2c3d4e5f"


@dataclass(frozen=True)
class Throughput:
    """Notifications received per second and payload bytes received per second."""

    notifications_per_s: float
    bytes_per_s: float


async def measure(
    count: int = 20_000, acl_packet_length: int = 251, airtime: Airtime | None = None
) -> Throughput:
    """Stream ``count`` 244-byte notifications over a fresh virtual air and time their arrival."""
    async with VirtualAir(acl_packet_length=acl_packet_length, airtime=airtime) as air:
        sensor = VirtualPeripheral(
            "F1:00:00:00:00:01", "RAW", [ServiceSpec(SERVICE, (CharacteristicSpec(DATA, ("notify",)),))]
        )
        await air.add(sensor)
        received = 0
        done = asyncio.Event()

        def on_notification(_characteristic: object, data: bytearray) -> None:
            nonlocal received
            received += 1
            if received == count:
                done.set()

        async with BleakClient(sensor.address, backend=VirtualBleakClient) as client:
            await client.start_notify(DATA, on_notification)
            payload = bytes(PAYLOAD_BYTES)
            start = time.perf_counter()
            for _ in range(count):
                await sensor.notify(DATA, payload)
            await asyncio.wait_for(done.wait(), 120)
            elapsed = time.perf_counter() - start
    return Throughput(count / elapsed, count * PAYLOAD_BYTES / elapsed)


def best_of(repeats: int, count: int, acl_packet_length: int) -> Throughput:
    """The fastest of ``repeats`` runs, each in its own event loop."""
    runs = [asyncio.run(measure(count, acl_packet_length)) for _ in range(repeats)]
    return max(runs, key=lambda t: t.bytes_per_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="notifications per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs; the best counts")
    args = parser.parse_args()

    ours = best_of(args.repeats, args.count, 251)
    anchor = best_of(args.repeats, max(args.count // 4, 1), 27)
    print(f"raw notification throughput, 1 peripheral -> 1 bleak client, {PAYLOAD_BYTES}-byte payloads")
    print(f"{'bus':<34}{'notifications/s':>16}{'payload MB/s':>14}")
    for label, result in (("imurehab air (ACL 251 B)", ours), ("anchor: Bumble default (ACL 27 B)", anchor)):
        print(f"{label:<34}{result.notifications_per_s:>16,.0f}{result.bytes_per_s / 1e6:>14.2f}")
    print(f"ratio ours / anchor: {ours.bytes_per_s / anchor.bytes_per_s:.2f}x")


if __name__ == "__main__":
    main()
