"""PMD data frame encoders (samples → frames), for virtual sensors and tests.

``decode_frames([encode_…(x)]).raw == x`` exactly for integer samples that fit the frame's resolution.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from imurehab.protocols.polar_pmd._profile import FrameLayout, fail, layout_for, measurement_id, pmd_profile

__all__ = ["delta_bits", "encode_delta_frame", "encode_raw_frame"]


def encode_raw_frame(
    measurement: str | int,
    frame_type: int,
    timestamp_ns: int,
    samples: npt.ArrayLike,
    *,
    channels: int | None = None,
    resolution_bits: int | None = None,
) -> bytes:
    """One uncompressed data frame.

    Parameters
    ----------
    measurement : str or int
        ``"acc"``, ``"gyro"``, ``"mag"`` (or the type byte).
    frame_type : int
        Frame type 0–127 (ACC: 0 = 8-bit, 1 = 16-bit, 2 = 24-bit samples).
    timestamp_ns : int
        Time of the last sample [ns since 2000-01-01].
    samples : array_like of int, shape (N, C)
        Values as transmitted (ACC: mg); each must fit the resolution, signed.
    channels, resolution_bits : int, optional
        Layout of a frame type the profile does not list.

    Raises
    ------
    ProtocolError
        Values out of range (``"value"``), a frame longer than a GATT attribute (``"overlong"``).
    """
    layout = _layout(measurement, frame_type, False, channels, resolution_bits)
    values = _samples(samples, layout)
    _check_fits(values, layout.resolution_bits, "sample")
    body = _bytes_le(values.reshape(-1), layout.sample_bytes)
    return _frame(layout, frame_type, timestamp_ns, body)


def encode_delta_frame(
    measurement: str | int,
    frame_type: int,
    timestamp_ns: int,
    samples: npt.ArrayLike,
    *,
    bits: int | None = None,
    block_samples: int | None = None,
    channels: int | None = None,
    resolution_bits: int | None = None,
) -> bytes:
    """One delta-compressed data frame: a reference sample, then blocks of packed differences.

    Parameters
    ----------
    measurement, frame_type, timestamp_ns, channels, resolution_bits
        As for :func:`encode_raw_frame`.
    samples : array_like of int, shape (N, C), N ≥ 1
        Values (int32 domain; differences wrap modulo 2**32 like Polar's accumulator).
    bits : int, optional
        Bits per difference (1–32) for every block; by default each block uses the fewest that fit.
    block_samples : int, optional
        Samples per block (1–255); default 255.

    Raises
    ------
    ProtocolError
        A difference that does not fit ``bits`` or a reference out of range (``"value"``), bad
        arguments (``"settings"``), a frame longer than a GATT attribute (``"overlong"``).
    """
    layout = _layout(measurement, frame_type, True, channels, resolution_bits)
    values = _samples(samples, layout)
    if len(values) == 0:
        fail("a delta frame needs at least the reference sample", "settings")
    _check_fits(values[:1], layout.resolution_bits, "reference sample")
    _check_fits(values, pmd_profile().raw["delta"]["accumulator_bits"], "sample")
    delta = pmd_profile().raw["delta"]
    per_block = delta["max_block_samples"] if block_samples is None else block_samples
    if not 1 <= per_block <= delta["max_block_samples"]:
        fail(f"block_samples {per_block} outside 1–{delta['max_block_samples']}", "settings")
    if bits is not None and not delta["min_bits"] <= bits <= delta["max_bits"]:
        fail(f"bits {bits} outside {delta['min_bits']}–{delta['max_bits']}", "settings")
    diffs = np.diff(values, axis=0).astype(np.int32)  # wraps modulo 2**32, as the decoder accumulates
    body = bytearray(_bytes_le(values[0], layout.sample_bytes))
    for start in range(0, len(diffs), per_block):
        block = diffs[start : start + per_block]
        need = delta_bits(block)
        width = need if bits is None else bits
        if need > width:
            fail(f"a difference needs {need} bits, more than {width}", "value")
        body += bytes([width, len(block)]) + _pack_bits(block.reshape(-1), width)
    return _frame(layout, frame_type, timestamp_ns, bytes(body))


def delta_bits(diffs: npt.ArrayLike) -> int:
    """Fewest bits (≥ 1) holding every value of ``diffs`` as a two's-complement field.

    Parameters
    ----------
    diffs : array_like of int
        Differences between consecutive samples.
    """
    d = np.asarray(diffs, dtype=np.int64)
    if d.size == 0:
        return 1
    top = int(max(d.max(), -d.min() - 1))
    return max(1, top.bit_length() + 1)


def _layout(
    measurement: str | int,
    frame_type: int,
    compressed: bool,
    channels: int | None,
    resolution_bits: int | None,
) -> FrameLayout:
    frame = pmd_profile().raw["frame"]
    if not 0 <= frame_type <= frame["type_mask"]:
        fail(f"frame type {frame_type} outside 0–127", "settings")
    byte = frame_type | (frame["compressed_bit"] if compressed else 0)
    return layout_for(measurement_id(measurement), byte, channels, resolution_bits)


def _samples(samples: npt.ArrayLike, layout: FrameLayout) -> npt.NDArray[np.int64]:
    values = np.asarray(samples)
    if values.ndim != 2 or values.shape[1] != layout.channels:
        fail(f"samples must have shape (N, {layout.channels}), not {values.shape}", "settings")
    if values.size and not np.issubdtype(values.dtype, np.integer):
        fail("samples must be integers (the transmitted counts)", "settings")
    return values.astype(np.int64)


def _check_fits(values: npt.NDArray[np.int64], resolution_bits: int, what: str) -> None:
    lo, hi = -(1 << (resolution_bits - 1)), (1 << (resolution_bits - 1)) - 1
    if values.size and (values.min() < lo or values.max() > hi):
        fail(f"{what} outside the signed {resolution_bits}-bit range {lo}…{hi}", "value")


def _bytes_le(values: npt.NDArray[np.int64], size: int) -> bytes:
    """Little-endian two's-complement bytes, ``size`` per value."""
    wide = values.astype("<i8").view(np.uint8).reshape(-1, 8)
    return wide[:, :size].tobytes()


def _pack_bits(values: npt.NDArray[np.int32], width: int) -> bytes:
    """LSB-first packing of ``width``-bit two's-complement fields, padded to a whole byte."""
    bits = (values.astype(np.int64)[:, None] >> np.arange(width)) & 1
    return np.packbits(bits.astype(np.uint8).reshape(-1), bitorder="little").tobytes()


def _frame(layout: FrameLayout, frame_type: int, timestamp_ns: int, body: bytes) -> bytes:
    prof = pmd_profile().raw
    if not 0 <= timestamp_ns <= prof["clock"]["max_timestamp_ns"]:
        fail(f"timestamp {timestamp_ns} ns outside 0 … 2**63 − 1", "value")
    kind = prof["frame"]["compressed_bit"] if layout.compressed else 0
    head = bytes([prof["measurement_types"][layout.measurement]]) + int(timestamp_ns).to_bytes(8, "little")
    frame = head + bytes([frame_type | kind]) + body
    limit = prof["gatt"]["max_attribute_bytes"]
    if len(frame) > limit:
        fail(f"frame of {len(frame)} bytes exceeds a GATT attribute ({limit})", "overlong", limit)
    return frame
