"""Virtual sensors: a bleak backend over Bumble's virtual controllers, virtual peripherals and faults.

The real :class:`bleak.BleakScanner` / :class:`bleak.BleakClient` code path runs in-process against GATT
servers written in Python. Open a :class:`VirtualAir`, put :class:`VirtualPeripheral` objects on it (each
with an optional :class:`FaultPlan`), and hand the backend classes :class:`VirtualBleakScanner` and
:class:`VirtualBleakClient` to bleak (``backend=``). Firmware emulators build on
:class:`VirtualPeripheral`: :class:`OspSensor` emulates an OSP v1 sensor, and :class:`VirtualScenario` puts
a simulated session logged on several of them on an air, with faults from :func:`parse_fault` texts;
:class:`PolarSensor` emulates a Polar Verity Sense (PMD), and :class:`PolarScenario` streams simulated
motion from several.

Examples
--------
>>> import asyncio
>>> from bleak import BleakClient, BleakScanner
>>> from imurehab.virtual import CharacteristicSpec, ServiceSpec, VirtualAir, VirtualPeripheral
>>> from imurehab.virtual import VirtualBleakClient, VirtualBleakScanner
>>> battery = ServiceSpec("180F", (CharacteristicSpec("2A19", ("read",), value=bytes([87])),))
>>> async def battery_level():
...     async with VirtualAir() as air:
...         await air.add(VirtualPeripheral("F1:00:00:00:00:01", "IMU-1", [battery]))
...         device = await BleakScanner.find_device_by_name("IMU-1", backend=VirtualBleakScanner)
...         async with BleakClient(device, backend=VirtualBleakClient) as client:
...             return (await client.read_gatt_char("2A19"))[0], client.mtu_size
>>> asyncio.run(battery_level())
(87, 247)
"""

from imurehab.virtual._radio import Airtime
from imurehab.virtual.air import VirtualAir, current_air
from imurehab.virtual.bumble_backend import VirtualBleakClient, VirtualBleakScanner
from imurehab.virtual.dot_scenario import DotScenario
from imurehab.virtual.dot_sensor import DotSensor
from imurehab.virtual.faults import DroppedNotification, FaultPlan, LinkStats
from imurehab.virtual.gatt_spec import CharacteristicSpec, ServiceSpec
from imurehab.virtual.mixed import FamilyScenario, MixedScenario
from imurehab.virtual.movesense_scenario import MovesenseScenario
from imurehab.virtual.movesense_sensor import MovesenseSensor
from imurehab.virtual.osp_faults import Fault, parse_fault
from imurehab.virtual.osp_sensor import OspSensor
from imurehab.virtual.osp_stats import OspDeviceStats
from imurehab.virtual.peripheral import VirtualPeripheral
from imurehab.virtual.polar_scenario import PolarScenario
from imurehab.virtual.polar_sensor import PolarSensor, PolarSource
from imurehab.virtual.scenario import VirtualScenario

__all__ = [
    "Airtime",
    "CharacteristicSpec",
    "DotScenario",
    "DotSensor",
    "DroppedNotification",
    "FamilyScenario",
    "Fault",
    "FaultPlan",
    "LinkStats",
    "MixedScenario",
    "MovesenseScenario",
    "MovesenseSensor",
    "OspDeviceStats",
    "OspSensor",
    "PolarScenario",
    "PolarSensor",
    "PolarSource",
    "ServiceSpec",
    "VirtualAir",
    "VirtualBleakClient",
    "VirtualBleakScanner",
    "VirtualPeripheral",
    "VirtualScenario",
    "current_air",
    "parse_fault",
]
