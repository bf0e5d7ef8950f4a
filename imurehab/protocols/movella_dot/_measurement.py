"""DOT measurement service: the control characteristic and the payload-mode notifications.

Each notification of the long/medium/short payload characteristic carries one sample of the payload
mode set on the control characteristic (0x2001). A batch of notifications is decoded at once: the
packets are stacked into a byte matrix and read with one structured numpy view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy.typing as npt

from imurehab.protocols.movella_dot._profile import (
    CHARACTERISTIC_BYTES,
    CONTROL,
    MAG_AU_TO_UT,
    MODES,
    Mode,
    error,
)
from imurehab.protocols.movella_dot._samples import (
    DotSamples,
    rows_to_samples,
    samples_to_rows,
    stack_packets,
)


def payload_mode(mode: int | str) -> Mode:
    """The payload mode with this number, if the public spec documents its layout.

    Parameters
    ----------
    mode : int or str
        Payload mode number (``20`` or ``"20"``).

    Raises
    ------
    ProtocolError
        ``"settings"`` for a value that is no mode number, ``"type"`` for an unknown mode or one
        only the vendor SDK can parse (1, 17, 25).
    """
    try:
        number = int(mode)
    except (TypeError, ValueError):
        raise error(f"payload mode must be an integer, got {mode!r}", "settings") from None
    if number not in MODES:
        raise error(f"unknown payload mode {number}; known {sorted(MODES)}", "type")
    m = MODES[number]
    if not m.parsable:
        raise error(f"payload mode {number} ({m.name}) can only be parsed by the vendor SDK", "type")
    return m


def decode_measurements(
    packets: Sequence[bytes],
    mode: int | str,
    *,
    previous_timestamp_us: int | None = None,
    mag_au_to_ut: float = MAG_AU_TO_UT,
) -> DotSamples:
    """Decode payload-characteristic notifications of one payload mode.

    Parameters
    ----------
    packets : sequence of bytes
        Notifications in arrival order, one sample each; trailing zero padding up to the
        characteristic length (20/40/63 bytes) is accepted.
    mode : int or str
        Payload mode set when the measurement started (e.g. 2, 3, 16, 20, 21).
    previous_timestamp_us : int, optional
        Unwrapped time [µs] of the last sample decoded before these packets, so the 2³² µs
        rollover is unwrapped across calls.
    mag_au_to_ut : float
        µT per arbitrary unit of the magnetometer [µT/a.u.], approximately 40.

    Returns
    -------
    DotSamples
        Samples in SI units (gyr [rad/s], mag [µT]) and the unwrapped time [µs].

    Raises
    ------
    ProtocolError
        On a wrong length, non-zero padding, non-finite value, unsupported mode or timestamps out of
        order.

    Examples
    --------
    >>> import numpy as np
    >>> pkts = encode_measurement(21, [10, 20], acc=np.zeros((2, 3)), gyr=np.zeros((2, 3)))
    >>> decode_measurements(pkts, 21).time_us.tolist()
    [10, 20]
    """
    m = payload_mode(mode)
    rows = stack_packets(packets, m.size, CHARACTERISTIC_BYTES[m.characteristic], f"mode {m.number}")
    return rows_to_samples(
        rows, m.fields, previous_timestamp_us=previous_timestamp_us, mag_au_to_ut=mag_au_to_ut
    )


def encode_measurement(
    mode: int | str,
    time_us: npt.ArrayLike,
    *,
    pad: bool = False,
    mag_au_to_ut: float = MAG_AU_TO_UT,
    **quantities: npt.ArrayLike,
) -> list[bytes]:
    """Build payload-characteristic notifications (what a virtual DOT sends).

    Parameters
    ----------
    mode : int or str
        Payload mode.
    time_us : array_like of int, shape (N,)
        Device time of each sample [µs]; written modulo 2³².
    pad : bool
        Zero-pad each notification to the characteristic length (20/40/63 bytes).
    mag_au_to_ut : float
        µT per arbitrary unit [µT/a.u.].
    **quantities : array_like
        The mode's fields in the units of :class:`DotSamples` (``acc`` [m/s²], ``gyr`` [rad/s],
        ``mag`` [µT], ``quaternion``, ``euler_deg`` [deg], ``free_acc`` [m/s²], ...).

    Returns
    -------
    list of bytes
        One notification per sample.
    """
    m = payload_mode(mode)
    rows = samples_to_rows(m.fields, quantities, time_us=time_us, mag_au_to_ut=mag_au_to_ut)
    width = CHARACTERISTIC_BYTES[m.characteristic] if pad else m.size
    tail = bytes(width - m.size)
    return [r.tobytes() + tail for r in rows]


def measurement_control(start: bool, mode: int | str) -> bytes:
    """The 3 bytes written to the measurement control characteristic (0x2001).

    Parameters
    ----------
    start : bool
        Start (True) or stop (False) the measurement.
    mode : int or str
        Payload mode.
    """
    m = payload_mode(mode)
    action = CONTROL["action_start"] if start else CONTROL["action_stop"]
    return bytes([CONTROL["type_measurement"], action, m.number])


def parse_measurement_control(packet: bytes) -> dict[str, Any]:
    """Read the control characteristic: ``type``, ``action`` (``"start"``/``"stop"``), ``mode``.

    Parameters
    ----------
    packet : bytes
        The 3 bytes read from the measurement control characteristic (0x2001).

    Raises
    ------
    ProtocolError
        For a length other than 3, an unknown type, action or payload mode.
    """
    if len(packet) < 3:
        raise error("control characteristic is 3 bytes", "truncated", len(packet))
    if len(packet) > 3:
        raise error("control characteristic is 3 bytes", "overlong", 3)
    kind, action, mode = packet
    if kind != CONTROL["type_measurement"]:
        raise error(f"control type {kind} is not measurement", "type", 0)
    actions = {CONTROL["action_start"]: "start", CONTROL["action_stop"]: "stop"}
    if action not in actions:
        raise error(f"unknown control action {action}", "value", 1)
    if mode not in MODES:
        raise error(f"unknown payload mode {mode}", "type", 2)
    return {"type": kind, "action": actions[action], "mode": mode, "mode_name": MODES[mode].name}
