"""Acquisition inside a virtual OSP sensor: settings and scales, the sample source, sampling, frame cutting.

The emulated IMU samples on the device clock at the nominal rate: sample ``j`` of an acquisition run that
started at device time ``t0`` [µs] is taken at ``t0 + ⌊j · 10⁹ / rate_mHz⌋`` µs, and its sample index
counts on from the previous run within the boot. Values come from a source of SI samples (a
:class:`~imurehab.types.SensorSamples`, replayed cyclically: sample index ``i`` reads source row
``i mod N``), quantised to int16 with the scales of the current settings. A :class:`FrameCutter` turns the
sample stream into DATA frames with their own sequence numbers (one per live stream, one per log).

Examples
--------
>>> import numpy as np
>>> s = Settings(rate_mhz=200_000, channel_mask=3, acc_range_g=16, gyr_range_dps=2000)
>>> round(s.descriptor(boot_id=1).acc_scale * 2048, 5)
9.80665
>>> source = SampleSource(np.tile([0.0, 0.0, 9.80665], (4, 1)), np.zeros((4, 3)), None)
>>> run = Acquisition(s, source.raw(s), first_index=10, start_us=1_000)
>>> block = run.produce(until_us=11_000)
>>> block.index.tolist(), block.time_us.tolist(), block.raw[0].tolist()
([10, 11, 12], [1000, 6000, 11000], [0, 0, 2048, 0, 0, 0])
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from imurehab.errors import SimulationError
from imurehab.protocols.osp import Channel, Descriptor, StreamConfig, encode_frames, quantize
from imurehab.types import STANDARD_GRAVITY

__all__ = [
    "ACC_RANGES_G",
    "GYR_RANGES_DPS",
    "Acquisition",
    "Block",
    "FrameCutter",
    "SampleSource",
    "Settings",
]

ACC_RANGES_G = (2, 4, 8, 16)
"""Accelerometer full scales the emulated IMU supports [±g]."""
GYR_RANGES_DPS = (125, 250, 500, 1000, 2000)
"""Gyroscope full scales the emulated IMU supports [±deg/s]."""
MAG_SCALE_UT = 0.15
"""Magnetometer sensitivity [µT/LSB] (an AK09916-class magnetometer)."""
_IMU_MODELS = {3: "ICM-42688-P", 7: "ICM-20948"}


def _at_least(wanted: int, supported: tuple[int, ...]) -> int:
    """The smallest supported value ≥ ``wanted``, else the largest (the spec's "at least where it can")."""
    return next((v for v in supported if v >= wanted), supported[-1])


@dataclass(frozen=True)
class Settings:
    """The acquisition configuration a device applies.

    Attributes
    ----------
    rate_mhz : int
        Nominal sample rate [mHz].
    channel_mask : int
        Channel groups sampled (acc 1, gyr 2, mag 4).
    acc_range_g : int
        Accelerometer full scale [±g].
    gyr_range_dps : int
        Gyroscope full scale [±deg/s].
    """

    rate_mhz: int
    channel_mask: int
    acc_range_g: int
    gyr_range_dps: int

    def descriptor(
        self, *, boot_id: int, session_id: int = 0, serial: str = "", firmware: str = "", device_mask: int = 0
    ) -> Descriptor:
        """The DESCRIPTOR of these settings (scales in SI, float32 on the wire).

        Parameters
        ----------
        boot_id, session_id : int
            Current boot; the session being logged (0 for none).
        serial, firmware : str
            Device strings.
        device_mask : int
            Channels the hardware has (names the IMU model); default the settings' mask.
        """
        mask = self.channel_mask
        return Descriptor(
            channel_mask=mask,
            rate_mhz=self.rate_mhz,
            acc_scale=self.acc_range_g * STANDARD_GRAVITY / 32768 if mask & Channel.ACC else 0.0,
            gyr_scale=self.gyr_range_dps * np.pi / 180 / 32768 if mask & Channel.GYR else 0.0,
            mag_scale=MAG_SCALE_UT if mask & Channel.MAG else 0.0,
            boot_id=boot_id,
            session_id=session_id,
            acc_range_g=self.acc_range_g,
            gyr_range_dps=self.gyr_range_dps,
            imu_model=_IMU_MODELS.get(device_mask or mask, "ICM-20948"),
            serial=serial,
            firmware=firmware,
            axis_frame="x USB, z lid",
        )

    def apply(self, request: StreamConfig, device_mask: int) -> Settings | None:
        """The settings a START_STREAM / START_LOG request leads to, or None when it is invalid.

        The rate stays the device's (the nearest supported); ranges become the smallest supported at least
        as large as asked (0 keeps the current one); the channel mask must be a non-empty subset of the
        device's channels.

        Parameters
        ----------
        request : StreamConfig
            The command's CONFIG.
        device_mask : int
            Channels the device has.
        """
        if request.channel_mask == 0 or request.channel_mask & ~device_mask:
            return None
        return replace(
            self,
            channel_mask=request.channel_mask,
            acc_range_g=_at_least(request.acc_range_g, ACC_RANGES_G)
            if request.acc_range_g
            else self.acc_range_g,
            gyr_range_dps=(
                _at_least(request.gyr_range_dps, GYR_RANGES_DPS)
                if request.gyr_range_dps
                else self.gyr_range_dps
            ),
        )


@dataclass
class SampleSource:
    """SI samples the emulated IMU replays, quantised on demand per setting.

    Parameters
    ----------
    acc : ndarray, shape (N, 3)
        Specific force [m/s²].
    gyr : ndarray, shape (N, 3)
        Angular rate [rad/s].
    mag : ndarray, shape (N, 3), or None
        Magnetic flux density [µT]; None if the source has no magnetometer.
    """

    acc: npt.NDArray[np.float64]
    gyr: npt.NDArray[np.float64]
    mag: npt.NDArray[np.float64] | None
    _cache: dict[tuple[int, float, float, float], npt.NDArray[np.int16]] = field(
        default_factory=dict, repr=False
    )

    def raw(self, settings: Settings) -> npt.NDArray[np.int16]:
        """The source as int16 counts of ``settings`` (columns: the mask's groups, acc, gyr, mag).

        Parameters
        ----------
        settings : Settings
            The applied settings.
        """
        d = settings.descriptor(boot_id=1)
        key = (d.channel_mask, d.acc_scale, d.gyr_scale, d.mag_scale)
        if key not in self._cache:
            groups = []
            for bit, values, scale in (
                (Channel.ACC, self.acc, d.acc_scale),
                (Channel.GYR, self.gyr, d.gyr_scale),
                (Channel.MAG, self.mag, d.mag_scale),
            ):
                if d.channel_mask & bit:
                    if values is None:
                        raise SimulationError("the sample source has no magnetometer data for a mag channel")
                    groups.append(quantize(values, scale))
            self._cache[key] = np.ascontiguousarray(np.hstack(groups))
        return self._cache[key]


@dataclass(frozen=True)
class Block:
    """Consecutive samples: int16 ``raw`` (n, channels), their ``index`` and device ``time_us`` [µs]."""

    raw: npt.NDArray[np.int16]
    index: npt.NDArray[np.int64]
    time_us: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.index)

    def split(self, n: int) -> tuple[Block, Block]:
        """The first ``n`` samples and the rest.

        Parameters
        ----------
        n : int
            Samples in the first part.
        """
        return (
            Block(self.raw[:n], self.index[:n], self.time_us[:n]),
            Block(self.raw[n:], self.index[n:], self.time_us[n:]),
        )

    @staticmethod
    def join(a: Block, b: Block) -> Block:
        """``a`` followed by ``b``.

        Parameters
        ----------
        a, b : Block
            Consecutive blocks.
        """
        if not len(a):
            return b
        return Block(
            np.vstack([a.raw, b.raw]),
            np.concatenate([a.index, b.index]),
            np.concatenate([a.time_us, b.time_us]),
        )


class Acquisition:
    """One acquisition run: samples on the device clock from ``start_us``, indices from ``first_index``.

    Parameters
    ----------
    settings : Settings
        The applied settings.
    source : ndarray of int16, shape (N, channels)
        Quantised source samples; index ``i`` reads row ``i mod N``.
    first_index : int
        Sample index of the run's first sample.
    start_us : int
        Device time of the run's first sample [µs since boot].
    """

    def __init__(
        self, settings: Settings, source: npt.NDArray[np.int16], *, first_index: int, start_us: int
    ) -> None:
        self.settings = settings
        self._source = source
        self._first_index = first_index
        self._start_us = start_us
        self._produced = 0

    def set_source(self, source: npt.NDArray[np.int16]) -> None:
        """Read later samples from ``source``.

        Parameters
        ----------
        source : ndarray of int16, shape (N, channels)
            Quantised source samples, same settings.
        """
        self._source = source

    @property
    def next_index(self) -> int:
        """Sample index of the next sample."""
        return self._first_index + self._produced

    def time_of(self, j: int) -> int:
        """Device time [µs] of the run's sample ``j``.

        Parameters
        ----------
        j : int
            Sample number within the run (0-based).
        """
        return self._start_us + (j * 10**9) // self.settings.rate_mhz

    @property
    def next_time_us(self) -> int:
        """Device time of the next sample [µs]."""
        return self.time_of(self._produced)

    def produce(self, until_us: int, at_least: int = 0) -> Block:
        """The samples taken up to device time ``until_us`` and not produced yet.

        Parameters
        ----------
        until_us : int
            Device time now [µs].
        at_least : int
            Produce at least this many even if not yet due (a caller that waited for them).
        """
        rate = self.settings.rate_mhz
        due = max(0, -(-(until_us - self._start_us + 1) * rate // 10**9)) if until_us >= self._start_us else 0
        j = np.arange(self._produced, max(due, self._produced + at_least), dtype=np.int64)
        self._produced += len(j)
        index = self._first_index + j
        return Block(self._source[index % len(self._source)], index, self._start_us + (j * 10**9) // rate)


class FrameCutter:
    """Cuts a sample stream into DATA frames of ``samples_per_frame`` (the last may be shorter).

    Parameters
    ----------
    settings : Settings
        The stream's settings (channel mask and rate).
    stream_id : int
        Frame stream id.
    """

    def __init__(self, settings: Settings, stream_id: int = 0) -> None:
        self.settings = settings
        self.stream_id = stream_id
        self.seq = 0
        self._pending = Block(np.zeros((0, 0), np.int16), np.zeros(0, np.int64), np.zeros(0, np.int64))

    @property
    def pending(self) -> int:
        """Samples waiting for a frame."""
        return len(self._pending)

    def feed(self, block: Block) -> None:
        """Queue samples.

        Parameters
        ----------
        block : Block
            The next samples.
        """
        if len(block):
            self._pending = Block.join(self._pending, block)

    def take(self, n: int) -> Block | None:
        """The next ``n`` pending samples if there are that many (else None).

        Parameters
        ----------
        n : int
            Samples per frame.
        """
        if len(self._pending) < n or n <= 0:
            return None
        block, self._pending = self._pending.split(n)
        return block

    def take_rest(self) -> Block:
        """All pending samples."""
        block, self._pending = (
            self._pending,
            Block(self._pending.raw[:0], self._pending.index[:0], self._pending.time_us[:0]),
        )
        return block

    def encode(self, block: Block, *, session_id: int, gap_before: bool = False, last: bool = False) -> bytes:
        """One DATA frame of ``block`` with the next sequence number.

        Parameters
        ----------
        block : Block
            1–255 contiguous samples.
        session_id : int
            The log session these samples are recorded in (0 for none).
        gap_before, last : bool
            The GAP_BEFORE and LAST flags.
        """
        (frame,) = encode_frames(
            block.raw,
            channel_mask=self.settings.channel_mask,
            first_index=int(block.index[0]),
            first_time_us=int(block.time_us[0]),
            rate_mhz=self.settings.rate_mhz,
            samples_per_frame=len(block),
            session_id=session_id,
            stream_id=self.stream_id,
            first_seq=self.seq,
            time_us=block.time_us,
            gap_before=gap_before,
            last=last,
        )
        self.seq = (self.seq + 1) % 2**32
        return frame
