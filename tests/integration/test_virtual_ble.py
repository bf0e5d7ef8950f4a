"""The virtual BLE air end to end, through the real bleak API with the Bumble-backed backend.

Every test runs its own event loop (``asyncio.run``) under a generous overall timeout, so a hang fails
instead of blocking. Nothing here asserts radio timing beyond a lower bound of the optional airtime
model (a slow machine can only be slower): what arrived, in which order, and which error was raised.
"""

import asyncio
import random

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att

from imurehab.errors import SimulationError
from imurehab.virtual import (
    Airtime,
    CharacteristicSpec,
    FaultPlan,
    ServiceSpec,
    VirtualAir,
    VirtualBleakClient,
    VirtualBleakScanner,
    VirtualPeripheral,
)

pytestmark = pytest.mark.integration

SERVICE = "7d2e0001-5a6b-4c3d-8e9f-0a1b2c3d4e5f"
CONTROL = "7d2e0002-5a6b-4c3d-8e9f-0a1b2c3d4e5f"  # write, write without response
DATA = "7d2e0003-5a6b-4c3d-8e9f-0a1b2c3d4e5f"  # notify
STATUS = "7d2e0004-5a6b-4c3d-8e9f-0a1b2c3d4e5f"  # read, from a callback
EVENTS = "7d2e0005-5a6b-4c3d-8e9f-0a1b2c3d4e5f"  # indicate
LOCKED = "7d2e0006-5a6b-4c3d-8e9f-0a1b2c3d4e5f"  # write rejected with an ATT error
SLOW = "7d2e0007-5a6b-4c3d-8e9f-0a1b2c3d4e5f"  # read that never answers until released
BATTERY_SERVICE, BATTERY_LEVEL = "180F", "2A19"
COMPANY = 0x0A1B
TEST_TIMEOUT_S = 45.0
WAIT_S = 15.0


def run(coroutine):
    """Run one test scenario in a fresh loop; a hang becomes a failure, not a stuck run."""

    async def bounded():
        return await asyncio.wait_for(coroutine, TEST_TIMEOUT_S)

    return asyncio.run(bounded())


def full_uuid(short):
    return f"0000{short.lower()}-0000-1000-8000-00805f9b34fb"


class Sensor(VirtualPeripheral):
    """A small test peripheral: records writes, counts reads and boots, can stall a read."""

    def __init__(self, index, **kwargs):
        self.writes = []
        self.reads = 0
        self.boots = 1
        self.slow_read_started = asyncio.Event()
        self.release_slow_read = asyncio.Event()
        self.rebooting = asyncio.Event()
        service = ServiceSpec(
            SERVICE,
            (
                CharacteristicSpec(CONTROL, ("write", "write-without-response"), on_write=self.writes.append),
                CharacteristicSpec(DATA, ("notify",)),
                CharacteristicSpec(STATUS, ("read",), on_read=self._status),
                CharacteristicSpec(EVENTS, ("indicate",)),
                CharacteristicSpec(LOCKED, ("write",), on_write=self._reject),
                CharacteristicSpec(SLOW, ("read",), on_read=self._slow),
            ),
        )
        battery = ServiceSpec(
            BATTERY_SERVICE, (CharacteristicSpec(BATTERY_LEVEL, ("read",), value=bytes([80 + index])),)
        )
        super().__init__(
            f"F1:00:00:00:00:0{index}",
            f"IMU-{index}",
            [service, battery],
            advertised_services=[SERVICE] + ([BATTERY_SERVICE] if index == 1 else []),
            manufacturer_data={COMPANY: bytes([index, self.boots])},
            tx_power=-4,
            rssi=-40 - 10 * index,
            advertising_interval=0.02,
            **kwargs,
        )

    def _status(self):
        self.reads += 1
        return f"boot {self.boots} read {self.reads}".encode()

    def _reject(self, data):
        raise att.ATT_Error(att.ErrorCode.WRITE_NOT_PERMITTED)

    async def _slow(self):
        self.slow_read_started.set()
        await self.release_slow_read.wait()
        return b"late"

    async def on_reboot(self):
        self.rebooting.set()
        self.boots += 1
        self.manufacturer_data = {COMPANY: bytes([int(self.name[-1]), self.boots])}


class Inbox:
    """Notifications a bleak callback received, with a wait for a count."""

    def __init__(self):
        self.values = []
        self._changed = asyncio.Event()

    def __call__(self, characteristic, data):
        self.values.append(bytes(data))
        self._changed.set()

    async def wait_for(self, count):
        async with asyncio.timeout(WAIT_S):
            while len(self.values) < count:
                self._changed.clear()
                await self._changed.wait()


async def connect(address, **kwargs):
    client = BleakClient(address, backend=VirtualBleakClient, **kwargs)
    await client.connect()
    return client


async def stream(sensor, payloads):
    for payload in payloads:
        await sensor.notify(DATA, payload)


# --- scanning ------------------------------------------------------------------------------------


def test_scan_finds_two_peripherals_with_their_advertisements():
    async def scenario():
        async with VirtualAir() as air:
            await air.add(Sensor(1))
            await air.add(Sensor(2))
            seen = {}
            both = asyncio.Event()

            def on_advertisement(device, advertisement):
                seen[device.address] = (device, advertisement)
                if len(seen) == 2:
                    both.set()

            async with BleakScanner(on_advertisement, backend=VirtualBleakScanner):
                await asyncio.wait_for(both.wait(), WAIT_S)
            filtered = []
            three = asyncio.Event()

            def on_filtered(device, advertisement):
                filtered.append(device.address)
                if len(filtered) == 3:
                    three.set()

            battery_only = [full_uuid(BATTERY_SERVICE)]
            async with BleakScanner(on_filtered, battery_only, backend=VirtualBleakScanner):
                await asyncio.wait_for(three.wait(), WAIT_S)  # both advertise equally often
            by_name = await BleakScanner.find_device_by_name(
                "IMU-2", timeout=WAIT_S, backend=VirtualBleakScanner
            )
            by_address = await BleakScanner.find_device_by_address(
                "f1:00:00:00:00:01", timeout=WAIT_S, backend=VirtualBleakScanner
            )
            nobody = await BleakScanner.find_device_by_name("IMU-9", timeout=0.2, backend=VirtualBleakScanner)
            return seen, filtered, by_name, by_address, nobody

    seen, filtered, by_name, by_address, nobody = run(scenario())
    assert set(seen) == {"F1:00:00:00:00:01", "F1:00:00:00:00:02"}
    device, adv = seen["F1:00:00:00:00:01"]
    assert device.name == adv.local_name == "IMU-1"
    assert sorted(adv.service_uuids) == sorted([SERVICE, full_uuid(BATTERY_SERVICE)])
    assert adv.manufacturer_data == {COMPANY: bytes([1, 1])}
    assert (adv.rssi, adv.tx_power) == (-50, -4)
    _, adv2 = seen["F1:00:00:00:00:02"]
    assert (adv2.local_name, adv2.service_uuids, adv2.rssi) == ("IMU-2", [SERVICE], -60)
    assert set(filtered) == {"F1:00:00:00:00:01"}
    assert (by_name.address, by_address.name, nobody) == ("F1:00:00:00:00:02", "IMU-1", None)


def test_backend_outside_a_virtual_air_is_a_clear_error():
    with pytest.raises(SimulationError, match="no virtual air"):
        BleakScanner(backend=VirtualBleakScanner)


# --- GATT ----------------------------------------------------------------------------------------


def test_connect_discovers_services_reads_and_writes():
    async def scenario():
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1))
            device = await BleakScanner.find_device_by_name(
                "IMU-1", timeout=WAIT_S, backend=VirtualBleakScanner
            )
            async with BleakClient(device, backend=VirtualBleakClient) as client:
                services = client.services
                data = services.get_characteristic(DATA)
                facts = {
                    "name": client.name,
                    "service_uuids": {s.uuid for s in services},
                    "data_properties": data.properties,
                    "data_descriptors": [d.uuid for d in data.descriptors],
                    "control_properties": sorted(services.get_characteristic(CONTROL).properties),
                    "battery": await client.read_gatt_char(BATTERY_LEVEL),
                    "status": [await client.read_gatt_char(STATUS) for _ in range(2)],
                    "cached": await client.read_gatt_char(STATUS, use_cached=True),
                    "cccd": await client.read_gatt_descriptor(data.descriptors[0].handle),
                }
                await client.write_gatt_char(CONTROL, b"\x01start", response=True)
                await client.write_gatt_char(CONTROL, bytearray(b"\x02go"), response=False)
                await client.write_gatt_char(CONTROL, b"\x03end", response=True)  # after the command
                with pytest.raises(BleakGATTProtocolError) as rejected:
                    await client.write_gatt_char(LOCKED, b"x", response=True)
                facts["rejected_code"] = rejected.value.code
                facts["connected_inside"] = client.is_connected
            facts["connected_after"] = client.is_connected
            facts["writes"] = list(sensor.writes)
            async with BleakClient(device, services=[SERVICE], backend=VirtualBleakClient) as client:
                facts["filtered_services"] = [s.uuid for s in client.services]
            return facts

    facts = run(scenario())
    assert facts["name"] == "IMU-1"
    assert {SERVICE, full_uuid(BATTERY_SERVICE), full_uuid("1800"), full_uuid("1801")} <= facts[
        "service_uuids"
    ]
    assert facts["data_properties"] == ["notify"]
    assert facts["data_descriptors"] == [full_uuid("2902")]
    assert facts["control_properties"] == ["write", "write-without-response"]
    assert facts["battery"] == bytearray([81])
    assert facts["status"] == [b"boot 1 read 1", b"boot 1 read 2"]
    assert facts["cached"] == b"boot 1 read 2"
    assert facts["cccd"] == bytearray(b"\x00\x00")
    assert facts["rejected_code"] == att.ErrorCode.WRITE_NOT_PERMITTED
    assert facts["writes"] == [b"\x01start", b"\x02go", b"\x03end"]
    assert (facts["connected_inside"], facts["connected_after"]) == (True, False)
    assert facts["filtered_services"] == [SERVICE]


# --- notifications -------------------------------------------------------------------------------


def test_notifications_arrive_in_order_with_exact_bytes():
    rng = random.Random(3)
    payloads = [i.to_bytes(4, "little") + rng.randbytes(rng.randrange(0, 241)) for i in range(600)]

    async def scenario():
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1))
            inbox = Inbox()
            async with BleakClient("F1:00:00:00:00:01", backend=VirtualBleakClient) as client:
                await client.start_notify(DATA, inbox)
                subscribed = sensor.is_subscribed(DATA)
                await stream(sensor, payloads)
                await inbox.wait_for(len(payloads))
                await client.stop_notify(DATA)
                after_stop = await sensor.notify(DATA, b"unheard")
                await client.read_gatt_char(STATUS)  # a round trip: anything in flight has landed
            return subscribed, inbox.values, after_stop, sensor.stats.notifications_sent

    subscribed, received, after_stop, sent = run(scenario())
    assert subscribed
    assert received == payloads
    assert (after_stop, sent) == (0, len(payloads))


def test_indications_are_confirmed():
    async def scenario():
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1))
            inbox = Inbox()
            async with BleakClient("F1:00:00:00:00:01", backend=VirtualBleakClient) as client:
                await client.start_notify(EVENTS, inbox)
                confirmed = [await sensor.indicate(EVENTS, bytes([i])) for i in range(5)]
                await inbox.wait_for(5)
                with pytest.raises(BleakError, match="neither notifies nor indicates"):
                    await client.start_notify(STATUS, inbox)
            return confirmed, inbox.values

    confirmed, received = run(scenario())
    assert confirmed == [1] * 5
    assert received == [bytes([i]) for i in range(5)]


def test_two_clients_stream_from_two_peripherals_at_once():
    count = 300

    async def session(sensor):
        inbox = Inbox()
        async with BleakClient(sensor.address, backend=VirtualBleakClient) as client:
            await client.start_notify(DATA, inbox)
            payloads = [bytes([int(sensor.name[-1])]) + i.to_bytes(2, "little") for i in range(count)]
            await stream(sensor, payloads)
            await inbox.wait_for(count)
            return inbox.values == payloads, await client.read_gatt_char(BATTERY_LEVEL)

    async def scenario():
        async with VirtualAir() as air:
            sensors = [await air.add(Sensor(i)) for i in (1, 2)]
            return await asyncio.gather(*(session(s) for s in sensors))

    assert run(scenario()) == [(True, bytearray([81])), (True, bytearray([82]))]


def test_mtu_247_carries_a_244_byte_notification_whole():
    async def scenario():
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1))
            small = await air.add(Sensor(2, max_mtu=185))
            inbox = Inbox()
            async with BleakClient(sensor.address, backend=VirtualBleakClient) as client:
                await client.start_notify(DATA, inbox)
                payload = bytes(range(244))
                await sensor.notify(DATA, payload)
                await inbox.wait_for(1)
                with pytest.raises(SimulationError, match="does not fit"):
                    await sensor.notify(DATA, bytes(245))
                with pytest.raises(BleakError, match="exceeds MTU"):
                    await client.write_gatt_char(CONTROL, bytes(245), response=False)
                await client.write_gatt_char(CONTROL, bytes(300), response=True)  # a long write
                facts = (
                    client.mtu_size,
                    client.services.get_characteristic(CONTROL).max_write_without_response_size,
                    inbox.values == [payload],
                    sensor.writes[-1] == bytes(300),
                )
            async with BleakClient(small.address, backend=VirtualBleakClient) as client:
                return (*facts, client.mtu_size)

    assert run(scenario()) == (247, 244, True, True, 185)


# --- faults --------------------------------------------------------------------------------------


def test_link_drop_fires_the_callback_and_fails_pending_reads():
    async def scenario():
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1))
            dropped = asyncio.Event()
            client = await connect(sensor.address, disconnected_callback=lambda c: dropped.set())
            in_flight = asyncio.ensure_future(client.read_gatt_char(SLOW))
            queued = asyncio.ensure_future(client.read_gatt_char(STATUS))  # waits behind the slow one
            await asyncio.wait_for(sensor.slow_read_started.wait(), WAIT_S)
            assert sensor.drop_link() == 1
            outcomes = await asyncio.wait_for(
                asyncio.gather(in_flight, queued, return_exceptions=True), WAIT_S
            )
            await asyncio.wait_for(dropped.wait(), WAIT_S)
            with pytest.raises(BleakError, match="not connected"):
                await client.read_gatt_char(STATUS)
            sensor.release_slow_read.set()
            await client.disconnect()  # a no-op now
            return outcomes, client.is_connected, sensor.stats.link_drops

    outcomes, connected, drops = run(scenario())
    assert [type(o) for o in outcomes] == [BleakError, BleakError]
    assert all("disconnected (CONNECTION_TIMEOUT_ERROR)" in str(o) for o in outcomes)
    assert (connected, drops) == (False, 1)


def test_a_cancelled_read_does_not_answer_the_next_one():
    async def scenario():
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1))
            async with BleakClient(sensor.address, backend=VirtualBleakClient) as client:
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(client.read_gatt_char(SLOW), 0.2)
                sensor.release_slow_read.set()  # its late answer must not reach the next read
                return await client.read_gatt_char(STATUS)

    assert run(scenario()) == b"boot 1 read 1"


def test_reconnect_after_a_drop():
    async def scenario():
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1))
            drops = []
            client = BleakClient(sensor.address, lambda c: drops.append(1), backend=VirtualBleakClient)
            statuses = []
            for _ in range(3):
                await client.connect()
                inbox = Inbox()
                await client.start_notify(DATA, inbox)
                await sensor.notify(DATA, b"hello")
                await inbox.wait_for(1)
                statuses.append(bytes(await client.read_gatt_char(STATUS)))
                sensor.drop_link()
                async with asyncio.timeout(WAIT_S):
                    while client.is_connected:
                        await asyncio.sleep(0.01)
            await client.connect()
            await client.disconnect()
            return statuses, len(drops), sensor.stats.link_drops

    statuses, callbacks, drops = run(scenario())
    assert statuses == [b"boot 1 read 1", b"boot 1 read 2", b"boot 1 read 3"]
    assert (callbacks, drops) == (4, 3)


def test_peripheral_side_disconnect_is_reported():
    async def scenario():
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1))
            dropped = asyncio.Event()
            client = await connect(sensor.address, disconnected_callback=lambda c: dropped.set())
            closed = await sensor.disconnect()
            await asyncio.wait_for(dropped.wait(), WAIT_S)
            with pytest.raises(BleakError, match="not connected"):
                await client.write_gatt_char(CONTROL, b"x", response=True)
            await client.connect()  # it advertises again
            await client.disconnect()
        return closed, sensor.stats.link_drops  # the record outlives the air

    assert run(scenario()) == (1, 0)


def lossy_stream(seed, loss=0.1, count=1000):
    """Stream numbered notifications through a lossy link, with requests interleaved."""

    async def scenario():
        async with VirtualAir(seed=seed) as air:
            sensor = await air.add(Sensor(1), FaultPlan(notification_loss=loss))
            inbox = Inbox()
            async with BleakClient(sensor.address, backend=VirtualBleakClient) as client:
                await client.start_notify(DATA, inbox)
                answers = []
                for i in range(count):
                    await sensor.notify(DATA, i.to_bytes(2, "little"))
                    if i % 50 == 0:
                        answers.append(await client.read_gatt_char(BATTERY_LEVEL))
                        await client.write_gatt_char(CONTROL, bytes([i % 256]), response=True)
                stats = sensor.stats
                await inbox.wait_for(stats.notifications_delivered)
                return inbox.values, stats, answers, len(sensor.writes)

    return run(scenario())


def test_notification_loss_is_seeded_and_spares_requests():
    count = 1000
    received, stats, answers, writes = lossy_stream(seed=7, count=count)
    lost = [d.index for d in stats.dropped]
    assert 0.06 * count < len(lost) < 0.14 * count
    assert [int.from_bytes(v, "little") for v in received] == sorted(set(range(count)) - set(lost))
    assert [d.value for d in stats.dropped] == [i.to_bytes(2, "little") for i in lost]
    assert stats.notifications_sent == count
    assert answers == [bytearray([81])] * (count // 50) and writes == count // 50  # no request lost
    again = lossy_stream(seed=7, count=count)[1]
    other = lossy_stream(seed=8, count=count)[1]
    assert [d.index for d in again.dropped] == lost
    assert [d.index for d in other.dropped] != lost


def test_link_drops_right_after_the_nth_notification():
    async def scenario():
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1), FaultPlan(link_drop_after=(100,)))
            dropped = asyncio.Event()
            inbox = Inbox()
            client = await connect(sensor.address, disconnected_callback=lambda c: dropped.set())
            await client.start_notify(DATA, inbox)
            sent = 0
            for i in range(150):
                sent += await sensor.notify(DATA, i.to_bytes(2, "little"))
                await asyncio.sleep(0)
            await asyncio.wait_for(dropped.wait(), WAIT_S)
            return inbox.values, sent

    received, sent = run(scenario())
    assert received == [i.to_bytes(2, "little") for i in range(100)]
    assert 100 <= sent < 150


def test_silent_loss_drops_notifications_then_the_link():
    async def scenario():
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1), FaultPlan(supervision_timeout=2.0))
            dropped = asyncio.Event()
            inbox = Inbox()
            client = await connect(sensor.address, disconnected_callback=lambda c: dropped.set())
            await client.start_notify(DATA, inbox)
            await sensor.notify(DATA, b"before")
            await inbox.wait_for(1)
            air.start_silent_loss(sensor.address)
            await sensor.notify(DATA, b"during")
            status = await client.read_gatt_char(STATUS)  # requests are still answered
            await asyncio.wait_for(dropped.wait(), WAIT_S)
            return inbox.values, status, [d.value for d in sensor.stats.dropped], sensor.stats.link_drops

    received, status, lost, drops = run(scenario())
    assert received == [b"before"]
    assert status == b"boot 1 read 1"
    assert (lost, drops) == ([b"during"], 1)


def test_reboot_drops_the_link_changes_state_and_advertises_again():
    async def scenario():
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1))
            dropped = asyncio.Event()
            client = await connect(sensor.address, disconnected_callback=lambda c: dropped.set())
            before = await client.read_gatt_char(STATUS)
            await sensor.reboot(downtime=0.1)
            await asyncio.wait_for(dropped.wait(), WAIT_S)
            rebooted = asyncio.Event()

            def on_advertisement(device, advertisement):
                if advertisement.manufacturer_data.get(COMPANY) == bytes([1, 2]):
                    rebooted.set()

            async with BleakScanner(on_advertisement, backend=VirtualBleakScanner):
                await asyncio.wait_for(rebooted.wait(), WAIT_S)
            await client.connect()
            after = await client.read_gatt_char(STATUS)
            await client.disconnect()
            return before, after, sensor.stats.reboots

    assert run(scenario()) == (b"boot 1 read 1", b"boot 2 read 2", 1)


def test_faults_planned_in_air_time_happen():
    # Margins of a second between the planned faults: the client reconnects well within them.
    async def scenario():
        plan = FaultPlan(link_drop_at=(1.0,), reboot_at=(2.0,), reboot_downtime=0.05)
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1), plan)
            drops = asyncio.Queue()
            client = BleakClient(sensor.address, lambda c: drops.put_nowait(1), backend=VirtualBleakClient)
            await client.connect(timeout=WAIT_S)
            await asyncio.wait_for(drops.get(), WAIT_S)
            await client.connect(timeout=WAIT_S)  # back after the planned drop
            await asyncio.wait_for(drops.get(), WAIT_S)
            await client.connect(timeout=WAIT_S)  # back after the planned reboot
            status = await client.read_gatt_char(STATUS)
            await client.disconnect()
            return status, sensor.stats.link_drops, sensor.stats.reboots

    assert run(scenario()) == (b"boot 2 read 1", 2, 1)


# --- connection errors ---------------------------------------------------------------------------


def test_connect_errors_are_bleak_errors_and_leave_the_central_usable():
    async def scenario():
        async with VirtualAir() as air:
            sensor = await air.add(Sensor(1))
            with pytest.raises(BleakDeviceNotFoundError):
                await connect("F1:00:00:00:00:09")
            rebooting = asyncio.ensure_future(sensor.reboot(downtime=2.0))
            await asyncio.wait_for(sensor.rebooting.wait(), WAIT_S)  # off the air from here
            with pytest.raises(TimeoutError):
                await connect(sensor.address, timeout=0.2)  # nobody advertises: bleak's timeout error
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(connect(sensor.address), 0.2)  # a caller cancelling its connect
            await rebooting
            client = await connect(sensor.address, timeout=WAIT_S)
            status = await client.read_gatt_char(STATUS)
            with pytest.raises(BleakError, match="already connected"):
                await connect(sensor.address)
            await client.disconnect()
            return status

    assert run(scenario()) == b"boot 2 read 1"


def test_peripheral_and_fault_plan_validate_their_arguments():
    with pytest.raises(SimulationError, match="address"):
        VirtualPeripheral("not-an-address", "x")
    with pytest.raises(SimulationError, match="unknown or no properties"):
        CharacteristicSpec(DATA, ("notifyy",))
    with pytest.raises(SimulationError, match="supervision_timeout"):
        FaultPlan(supervision_timeout=60.0)
    with pytest.raises(SimulationError, match="link_drop_after"):
        FaultPlan(link_drop_after=(0,))
    with pytest.raises(SimulationError, match="not on a virtual air"):
        VirtualPeripheral("F1:00:00:00:00:01", "x").drop_link()


# --- a radio that takes time ---------------------------------------------------------------------


def test_airtime_of_a_packet_follows_the_le_packet_format():
    # 2M PHY: (2 preamble + 4 access address + 2 header + 251 + 3 CRC) bytes, T_IFS, an empty packet
    # (11 bytes), T_IFS: (262 + 11) * 8 / 2 Mbit/s + 300 µs.
    assert Airtime("2M").exchange_s(251) == pytest.approx((262 + 11) * 8 / 2e6 + 300e-6, abs=1e-12)
    assert Airtime("1M").exchange_s(0) == pytest.approx(20 * 8 / 1e6 + 300e-6, abs=1e-12)
    with pytest.raises(KeyError):
        Airtime("3M").exchange_s(10)  # type: ignore[arg-type]


def test_a_paced_air_keeps_order_bytes_and_is_never_faster_than_its_radio():
    rng = random.Random(5)
    payloads = [i.to_bytes(4, "little") + rng.randbytes(240) for i in range(200)]
    airtime = Airtime("2M")

    async def scenario():
        async with VirtualAir(airtime=airtime) as air:
            sensor = await air.add(Sensor(1), FaultPlan(link_drop_after=(150,)))
            inbox = Inbox()
            dropped = asyncio.Event()
            client = await connect(sensor.address, disconnected_callback=lambda c: dropped.set())
            await client.start_notify(DATA, inbox)
            loop = asyncio.get_running_loop()
            start = loop.time()
            await stream(sensor, payloads[:150])
            await inbox.wait_for(150)
            elapsed = loop.time() - start
            await asyncio.wait_for(dropped.wait(), WAIT_S)
            return inbox.values, elapsed

    received, elapsed = run(scenario())
    assert received == payloads[:150]
    # A lower bound only (a busy machine is slower, never faster): 150 packets of 251 bytes on air.
    assert elapsed >= 149 * airtime.exchange_s(251)
