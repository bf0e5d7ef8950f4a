"""Pre-filling a virtual OSP sensor's flash with a logged session: what it logged before a host came.

The session is the spec's log, byte for byte what a firmware writes: the DESCRIPTOR frame (with the session
id), then DATA frames of at most 244 bytes cut from contiguous runs of ``sample_index`` (``seq`` from 0
across the whole session, GAP_BEFORE on the first frame after an index jump, LAST on the final frame).
"""

from __future__ import annotations

import numpy as np

from imurehab.errors import SimulationError
from imurehab.protocols.osp import SessionState, encode_descriptor, encode_frames, max_samples_per_frame
from imurehab.types import SensorSamples
from imurehab.virtual.osp_acquisition import SampleSource, Settings
from imurehab.virtual.osp_flash import FlashSession, OspFlash

__all__ = ["prefill_session"]

_LOG_ATT_MTU = 247


def prefill_session(
    flash: OspFlash,
    samples: SensorSamples,
    settings: Settings,
    *,
    boot_id: int,
    serial: str,
    firmware: str,
    first_index: int,
    first_time_us: int,
) -> tuple[FlashSession, int, int]:
    """Log ``samples`` as one CLOSED session in ``flash``.

    Parameters
    ----------
    flash : OspFlash
        The device's flash.
    samples : SensorSamples
        SI samples at the settings' rate; ``sample_index`` gives the device indices, ``device_time`` (when
        in µs) the device times, else the nominal grid from ``first_time_us`` is used.
    settings : Settings
        The device's settings (quantisation scales, channels, rate).
    boot_id : int
        The boot that logged it.
    serial, firmware : str
        Descriptor strings.
    first_index : int
        Smallest sample index allowed (the boot's next index).
    first_time_us : int
        Earliest device time allowed [µs] (the end of the previous pre-filled session).

    Returns
    -------
    session : FlashSession
        The session, CLOSED.
    next_index : int
        Sample index after its last sample.
    end_us : int
        Device time one nominal period after its last sample [µs].

    Raises
    ------
    imurehab.errors.SimulationError
        Wrong rate, samples before ``first_index`` / ``first_time_us``, or not enough storage.
    """
    rate = settings.rate_mhz
    if abs(samples.info.rate_hz * 1000 - rate) > 1e-3 * rate:
        raise SimulationError(
            f"samples at {samples.info.rate_hz:g} Hz do not match the device's {rate / 1000:g} Hz"
        )
    n = len(samples.time_us)
    if n == 0:
        raise SimulationError("a session needs at least one sample")
    index = np.asarray(samples.sample_index, dtype=np.int64)
    if samples.device_time is not None and samples.info.device_clock_hz in (None, 1e6):
        time_us = np.asarray(samples.device_time, dtype=np.int64)
    else:
        time_us = first_time_us + ((index - index[0]) * 10**9) // rate
    if index[0] < first_index or time_us[0] < first_time_us or np.any(np.diff(time_us) <= 0):
        raise SimulationError(
            f"a pre-filled session must start at sample index >= {first_index} and device time >= "
            f"{first_time_us} us, with increasing device times"
        )
    raw = SampleSource(samples.acc, samples.gyr, samples.mag).raw(settings)
    descriptor = settings.descriptor(
        boot_id=boot_id, session_id=flash.next_session_id, serial=serial, firmware=firmware
    )
    per_frame = max_samples_per_frame(_LOG_ATT_MTU, settings.channel_mask)
    breaks = np.flatnonzero(np.diff(index) != 1) + 1
    frames: list[tuple[bytes, int]] = []
    for run, (a, b) in enumerate(zip(np.r_[0, breaks], np.r_[breaks, n], strict=True)):
        encoded = encode_frames(
            raw[a:b],
            channel_mask=settings.channel_mask,
            first_index=int(index[a]),
            first_time_us=int(time_us[a]),
            rate_mhz=rate,
            samples_per_frame=per_frame,
            session_id=descriptor.session_id,
            first_seq=len(frames),
            time_us=time_us[a:b],
            gap_before=run > 0,
            last=b == n,
        )
        counts = [min(per_frame, b - a - k) for k in range(0, b - a, per_frame)]
        frames.extend(zip(encoded, counts, strict=True))
    head = encode_descriptor(descriptor)
    total = len(head) + sum(len(f) for f, _ in frames)
    if not flash.fits(total):
        raise SimulationError(
            f"a {total}-byte session does not fit the {flash.free_bytes()} bytes of free flash"
        )
    session = flash.open(
        boot_id=boot_id,
        rate_mhz=rate,
        first_index=int(index[0]),
        first_time_us=int(time_us[0]),
        descriptor=head,
    )
    for frame, count in frames:
        session.append(frame, count)
    session.close(SessionState.CLOSED)
    return session, int(index[-1]) + 1, int(time_us[-1]) + 10**9 // rate
