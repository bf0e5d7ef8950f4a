"""A virtual Movella DOT: measurement service, message service (recording, export, sync), its µs clock.

What it emulates (``firmware_protocols/movella-dot/spec.md``; D1 = the vendor's BLE service spec):

- GATT (D1 §1–§5): the configuration (0x1000), measurement (0x2000), battery (0x3000) and message
  (0x7000) services under the vendor's UUID template; it advertises the measurement service under the
  name ``Movella DOT``.
- Measurement (D1 Tables 13–17): the control characteristic takes ``type, action, payload mode``; a
  started measurement notifies one sample per notification, each at the instant its clock reaches it,
  on the long/medium/short payload characteristic of the mode, zero-padded to its length, built by
  :func:`~imurehab.protocols.movella_dot.encode_measurement` from a source of SI samples. Modes whose
  fields it can fill are :data:`STREAM_MODES` (acc and gyr, with mag or the quaternion); a start with
  another mode is refused with the ATT error *value not allowed*.
- Message service (D1 §5): each control write is answered on the acknowledge characteristic (read);
  notifications follow on the notification characteristic. Recording start/stop (timed or not), erase,
  recording time, flash and file info, SelectExportData, RequestFileData, Retransmission from a
  DataNumber, StopExportData (see :mod:`imurehab.virtual.dot_flash`); StartSync / StopSync /
  GetSyncStatus.
- Clock (D2 §4.2.5): SampleTimeFine counts µs from power on and is sent modulo 2³² (it wraps every
  ≈ 71.6 min); the virtual clock starts at ``clock_at_air0_us`` and runs ``clock_drift_ppm`` fast. All
  samples, streamed or recorded, lie on one grid of that clock at the output rate.

- Configuration (D1 §2.2, Table 7): the device control characteristic (0x1002) reads back its 32
  bytes; a write with the output-rate visit bit sets the rate of streaming and recording.

Choices of ours where the sources are silent: a new output rate is not taken (the write succeeds, the
rate read back is unchanged) while measuring or synced (D1: it "cannot be changed after measurement or
synchronization start") or while recordings are on its flash (its files are kept on one sample grid); a
measurement stops and an export pauses when the link goes down, while a recording goes on; the file
requested last stays selected across reconnects, so a Retransmission on a new link resumes its export
(unless ``retransmission_on_new_link=False``: then it is forgotten and a Retransmission is refused until
a file is requested again); the sensors' own sync takes :data:`SYNC_DURATION_S` and leaves every synced
sensor on the root's clock (same grid, same rate) with a seeded error of about ``sync_error_us``
(normal, σ) — a model, not a measurement of real DOTs.

Faults: notification loss, link drops and silent links come from the air's
:class:`~imurehab.virtual.FaultPlan`; ``corrupt`` flips a byte of that fraction of ExportFileData
messages (seeded), so their checksum fails; ``invalid_data_numbers`` are sent as ExportFileDataInvalid
(flash the sensor cannot read: never recoverable).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterable, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from bumble import att

from imurehab.errors import ProtocolError, SimulationError
from imurehab.protocols import load_profile
from imurehab.protocols.movella_dot import (
    DEFAULT_SELECTION,
    acknowledge,
    device_control,
    encode_measurement,
    parse_measurement_control,
    payload_mode,
    sync_message,
    uuid,
)
from imurehab.virtual.dot_flash import DotFlash
from imurehab.virtual.dot_service import DotMessageService
from imurehab.virtual.gatt_spec import CharacteristicSpec, ServiceSpec
from imurehab.virtual.polar_sensor import PolarSource

__all__ = ["STREAM_MODES", "SYNC_DURATION_S", "DotSensor"]

_PROFILE: Final = load_profile("movella-dot")
_CHAR: Final[dict[str, str]] = {k: uuid(v) for k, v in _PROFILE["uuid"]["characteristics"].items()}
_SERVICE: Final[dict[str, str]] = {k: uuid(v) for k, v in _PROFILE["uuid"]["services"].items()}
_PAYLOAD_CHAR: Final = {"long": "long_payload", "medium": "medium_payload", "short": "short_payload"}
_SYNC_STATUS: Final = _PROFILE["synchronization"]["status"]
STREAM_MODES: Final = (20, 21, 26)
"""Payload modes a virtual DOT streams: rate quantities (with mag) and custom mode 5."""
SYNC_DURATION_S: Final = 0.2
"""How long the virtual sensors' own sync takes [s]."""
_WRAP: Final = 1 << 32


class DotSensor(DotMessageService):
    """A virtual Movella DOT streaming, recording and exporting simulated motion.

    Parameters
    ----------
    address : str
        Its address (a real DOT's is its public MAC, ``D4:22:CD:…``).
    source : PolarSource, optional
        What the IMU measures, replayed cyclically (default: at rest, z up).
    orientation : ndarray, shape (N, 4), optional
        Its orientation (w, x, y, z) at the source's rows, for modes with a quaternion (default identity).
    rate_hz : float
        Output rate of streaming and recording [Hz].
    clock_at_air0_us : int
        SampleTimeFine at air time 0 [µs since power on]; start it just below 2³² to see a rollover.
    clock_drift_ppm : float
        How much faster its clock runs than true time [ppm].
    corrupt : float
        Fraction in [0, 1) of ExportFileData messages sent with a bad checksum.
    invalid_data_numbers : iterable of int
        Data numbers the sensor reports as ExportFileDataInvalid in every export.
    link_drop_at : sequence of float
        ``link-drop@S`` events, each fired once at the first of two triggers: the first moment it is
        streaming at air time ``S`` [s] or later; while exporting, the first packet of a sample ``S``
        seconds or more into the file (DataNumber ``round(S × rate)``), right after it is put on the air.
    sync_error_us : float
        σ of its clock's error after the sensors' own sync [µs].
    seed : int
        Seed of corruption and the sync error.
    max_mtu : int
        Largest ATT MTU it accepts [bytes].
    export_link_drops : iterable of int
        DataNumbers after whose export packet the link drops (each once, in the first export that sends it).
    retransmission_on_new_link : bool
        Whether the file requested on a previous link stays selected, so a Retransmission on a new link
        resumes its export (True), or is forgotten on a link drop, so it is refused (False).

    Attributes
    ----------
    flash : DotFlash
        Its recordings.
    synced : bool
        Whether its clock is synced to a root sensor.
    sent : list of int
        Grid index of every sample notified while streaming (lost ones included), for tests.
    refused_retransmissions : int
        Retransmissions it refused, for tests.
    """

    def __init__(
        self,
        address: str,
        *,
        source: PolarSource | None = None,
        orientation: npt.NDArray[np.float64] | None = None,
        rate_hz: float = 60.0,
        clock_at_air0_us: int = 0,
        clock_drift_ppm: float = 0.0,
        corrupt: float = 0.0,
        invalid_data_numbers: Iterable[int] = (),
        link_drop_at: Sequence[float] = (),
        sync_error_us: float = 20.0,
        seed: int = 0,
        max_mtu: int = 247,
        export_link_drops: Iterable[int] = (),
        retransmission_on_new_link: bool = True,
    ) -> None:
        if not (math.isfinite(clock_drift_ppm) and abs(clock_drift_ppm) <= 10_000):
            raise SimulationError(f"clock_drift_ppm must be within ±10000, got {clock_drift_ppm!r}")
        if not 0.0 <= corrupt < 1.0:
            raise SimulationError(f"corrupt must be in [0, 1), got {corrupt!r}")
        self.source = source or PolarSource(1.0, np.array([[0.0, 0.0, 9.80665]]), np.zeros((1, 3)))
        self.orientation = orientation
        self.rate_hz = float(rate_hz)
        self.flash = DotFlash(self.rate_hz)
        self.synced = False
        self.sent: list[int] = []
        self.corrupt = corrupt
        self.invalid_data_numbers = frozenset(invalid_data_numbers)
        self.sync_error_us = sync_error_us
        self._drops = sorted(float(t) for t in link_drop_at)
        self._rng = random.Random(f"imurehab-virtual-dot/{seed}/{address.upper()}")
        self._clock_ref_us = int(clock_at_air0_us)
        self._clock_rate = 1.0 + clock_drift_ppm * 1e-6
        self._clock_ref_mono: float | None = None
        self._origin_us = int(clock_at_air0_us)
        self._mode: int | None = None
        self._next_k = 0
        self._pump: asyncio.Task[None] | None = None
        self._export: asyncio.Task[None] | None = None
        self._export_index = 0
        self.refused_retransmissions = 0
        self.retransmission_on_new_link = retransmission_on_new_link
        self.export_link_drops = set(export_link_drops)
        self._selection: tuple[int, ...] = DEFAULT_SELECTION
        self._ack = b""
        self._device_control = device_control(output_rate_hz=int(self.rate_hz))
        self._ack_read = asyncio.Event()
        services = [
            ServiceSpec(
                _SERVICE["configuration"],
                (
                    CharacteristicSpec(_CHAR["device_info"], ("read",)),
                    CharacteristicSpec(
                        _CHAR["device_control"],
                        ("read", "write"),
                        on_read=self._device_control_value,
                        on_write=self._on_device_control,
                    ),
                ),
            ),
            ServiceSpec(
                _SERVICE["measurement"],
                (
                    CharacteristicSpec(
                        _CHAR["measurement_control"],
                        ("read", "write"),
                        on_read=self._control_value,
                        on_write=self._on_control,
                    ),
                    *(CharacteristicSpec(_CHAR[c], ("notify",)) for c in _PAYLOAD_CHAR.values()),
                ),
            ),
            ServiceSpec(
                _SERVICE["battery"], (CharacteristicSpec(_CHAR["battery"], ("read",), bytes([90, 0])),)
            ),
            ServiceSpec(
                _SERVICE["message"],
                (
                    CharacteristicSpec(_CHAR["message_control"], ("write",), on_write=self._on_message),
                    CharacteristicSpec(_CHAR["message_acknowledge"], ("read",), on_read=self._read_ack),
                    CharacteristicSpec(_CHAR["message_notification"], ("notify",)),
                ),
            ),
        ]
        super().__init__(
            address, "Movella DOT", services, advertised_services=[_SERVICE["measurement"]], max_mtu=max_mtu
        )

    # --- clock -------------------------------------------------------------------------------------

    def device_time_us(self) -> int:
        """SampleTimeFine now, not wrapped [µs] (the wire carries it modulo 2³²)."""
        now = asyncio.get_running_loop().time()
        if self._clock_ref_mono is None:
            self._clock_ref_mono = now - self._require_air().time
        return self._clock_ref_us + round((now - self._clock_ref_mono) * self._clock_rate * 1e6)

    def true_time_of(self, device_us: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """When its clock read ``device_us`` (not wrapped): event-loop time [s].

        Parameters
        ----------
        device_us : array_like
            Clock values [µs].
        """
        self.device_time_us()
        assert self._clock_ref_mono is not None
        elapsed = (np.asarray(device_us, dtype=np.float64) - self._clock_ref_us) / 1e6
        return self._clock_ref_mono + elapsed / self._clock_rate

    def sample_time_us(self, k: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Device time of grid samples ``k``, not wrapped [µs].

        Parameters
        ----------
        k : array_like of int
            Grid indices.
        """
        return self._origin_us + np.rint(np.asarray(k, dtype=np.float64) * 1e6 / self.rate_hz).astype(
            np.int64
        )

    def newest_k(self) -> int:
        """Index of the newest sample of its grid."""
        return math.floor((self.device_time_us() - self._origin_us) * self.rate_hz / 1e6)

    def adopt_clock(self, root: DotSensor) -> None:
        """Take the root's clock and sample grid, with a seeded error (the sensors' own sync).

        Parameters
        ----------
        root : DotSensor
            The root sensor (itself for the root).
        """
        error = 0.0 if root is self else self._rng.gauss(0.0, self.sync_error_us)
        now = asyncio.get_running_loop().time()
        self._clock_ref_us = round(root.device_time_us() + error)
        self._clock_ref_mono, self._clock_rate = now, root._clock_rate
        self._origin_us = root._origin_us
        self.synced = True

    # --- samples -----------------------------------------------------------------------------------

    def quantities(self, ks: npt.NDArray[np.int64], fields: Sequence[str]) -> dict[str, Any]:
        """The SI values of grid samples ``ks`` for ``fields`` (the source's rows nearest in time).

        Parameters
        ----------
        ks : ndarray of int64
            Grid indices.
        fields : sequence of str
            Field names (``timestamp`` is skipped).
        """
        rows = np.rint(ks / self.rate_hz * self.source.rate_hz).astype(np.int64) % len(self.source.acc)
        out: dict[str, Any] = {}
        for name in fields:
            if name in ("acc", "mag"):
                out[name] = self.source.at(name, ks, self.rate_hz)
            elif name == "gyr":
                out[name] = self.source.at("gyro", ks, self.rate_hz)
            elif name == "quaternion":
                q = self.orientation
                out[name] = np.tile([1.0, 0, 0, 0], (len(ks), 1)) if q is None else q[rows % len(q)]
            elif name != "timestamp":
                raise SimulationError(f"a virtual DOT does not produce {name}")
        return out

    # --- measurement -------------------------------------------------------------------------------

    def _control_value(self) -> bytes:
        return bytes([1, int(self._mode is not None), self._mode or STREAM_MODES[1]])

    def _on_control(self, data: bytes) -> None:
        try:
            control = parse_measurement_control(bytes(data))
            if control["action"] == "start" and control["mode"] not in STREAM_MODES:
                raise SimulationError(f"mode {control['mode']}")
        except (ProtocolError, SimulationError):
            raise att.ATT_Error(att.ErrorCode.VALUE_NOT_ALLOWED) from None
        if control["action"] == "stop":
            self._mode = None
            return
        if self._mode is None:
            self._next_k = self.newest_k() + 1
        self._mode = int(control["mode"])
        if self._pump is None or self._pump.done():
            self._pump = self._require_air().spawn(self._stream(), name=f"DOT stream {self.address}")

    async def _stream(self) -> None:
        """Notify each sample at its own instant, as a DOT notifies every sample once it is measured."""
        loop = asyncio.get_running_loop()
        while self._mode is not None and self.is_connected:
            mode = payload_mode(self._mode)
            last = self.newest_k()
            if last >= self._next_k:
                ks = np.arange(self._next_k, last + 1, dtype=np.int64)
                self._next_k = last + 1
                packets = encode_measurement(
                    mode.number,
                    self.sample_time_us(ks) % _WRAP,
                    pad=True,
                    **self.quantities(ks, mode.fields),
                )
                for k, packet in zip(ks.tolist(), packets, strict=True):
                    if self._mode != mode.number or not self.is_connected:
                        break
                    self.sent.append(k)
                    await self.notify(_CHAR[_PAYLOAD_CHAR[mode.characteristic]], packet)
            self.flash.settle(last)
            air = self._require_air()
            due = [t for t in self._drops if t <= air.time]
            if due:
                self._fire_drop(due[0])
            # wake when the clock reaches the next sample (newest_k's edge), or at the next link drop
            edge_us = self._origin_us + self._next_k * 1e6 / self.rate_hz
            wake = float(self.true_time_of(edge_us))
            if self._drops:
                wake = min(wake, loop.time() + self._drops[0] - air.time)
            await asyncio.sleep(max(0.0, wake - loop.time()))

    def _fire_drop(self, t: float) -> None:
        if t in self._drops:
            self._drops.remove(t)
            self.drop_link()

    def on_disconnect(self, reason: int) -> None:
        """The link went down: the measurement stops and an export pauses; a recording goes on.

        Parameters
        ----------
        reason : int
            HCI reason code.
        """
        del reason
        self._mode = None
        if self._export is not None:
            self._export.cancel()
        if not self.retransmission_on_new_link:
            self._export_index = 0

    # --- the sensors' own sync ---------------------------------------------------------------------

    def _sync(self, message: bytes, info: dict[str, Any]) -> tuple[bytes, list[bytes]]:
        name = info["message"]
        if name == "StartSync":
            self.synced = False
            self._require_air().spawn(self._run_sync(info["root_mac"]), name=f"DOT sync {self.address}")
            return acknowledge(message, "success"), []
        if name == "StopSync":
            self.synced = False
            return acknowledge(message, "success"), [sync_message("StopSyncResult", value=0)]
        if name == "GetSyncStatus":
            status = _SYNC_STATUS["synced" if self.synced else "unsynced"]
            return acknowledge(message, "success"), [sync_message("SyncStatus", value=status)]
        return acknowledge(message, "unstarted"), []

    async def _run_sync(self, root_mac: str) -> None:
        await asyncio.sleep(SYNC_DURATION_S)
        root = self._require_air().find(root_mac)
        if isinstance(root, DotSensor):
            self.adopt_clock(root)
