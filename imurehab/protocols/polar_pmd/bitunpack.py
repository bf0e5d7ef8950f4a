"""Bit-level kernels of the PMD frame decoder: unaligned word gathers, field unpacking, delta integration.

All functions work on whole arrays of values from many frames at once; none loops per value.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["integrate_deltas", "sign_extend_partial_bytes", "unpack_fields", "word_planes", "word_window"]


def word_window(blob: bytes, dtype: type[np.unsignedinteger]) -> npt.NDArray[np.unsignedinteger]:
    """Every little-endian word starting at every byte of ``blob`` (an overlapping, unaligned view).

    Parameters
    ----------
    blob : bytes
        The bytes to view.
    dtype : type
        Unsigned word type (``np.uint32``, ``np.uint64``).
    """
    size = np.dtype(dtype).itemsize
    return np.ndarray(
        shape=(len(blob) - size + 1,),
        dtype=np.dtype(dtype).newbyteorder("<"),
        buffer=blob,
        offset=0,
        strides=(1,),
    )


def word_planes(blob: bytes, dtype: type[np.unsignedinteger]) -> tuple[npt.NDArray[np.unsignedinteger], int]:
    """Aligned copies of ``blob`` as words starting at byte offsets 0, 1, …, size − 1 (one plane each).

    The little-endian word starting at byte ``p`` is ``planes[(p % size) * m + p // size]``. Gathers from
    these aligned planes run about twice as fast as from an overlapping unaligned view.

    Parameters
    ----------
    blob : bytes
        The bytes, ending with at least 16 bytes of padding.
    dtype : type
        Unsigned word type (``np.uint32``, ``np.uint64``).

    Returns
    -------
    planes : ndarray
        The planes, flattened.
    m : int
        Words per plane.
    """
    size = np.dtype(dtype).itemsize
    m = -(-(len(blob) - 16) // size)
    planes = np.empty((size, m), dtype=dtype)
    for lane in range(size):
        planes[lane] = np.frombuffer(blob, dtype=np.dtype(dtype).newbyteorder("<"), count=m, offset=lane)
    return planes.reshape(-1), m


def unpack_fields(
    blob: bytes, offset: npt.NDArray[np.int64], bits: npt.NDArray[np.int64], nvals: npt.NDArray[np.int64]
) -> npt.NDArray[np.int32]:
    """Sign-extended values of runs of ``nvals`` LSB-first packed ``bits``-wide fields at byte ``offset``.

    Each value is read as one little-endian word at its first byte, shifted left until its top bit is
    the word's top bit, then arithmetically shifted right: two shifts replace mask and sign logic. A
    32-bit word suffices unless a run is neither byte-aligned per value nor ≤ 25 bits wide.

    Parameters
    ----------
    blob : bytes
        Concatenated packets with at least 16 bytes of padding.
    offset : ndarray of int64
        Byte offset of each run in ``blob``.
    bits : ndarray of int64
        Width of the run's fields (1–32).
    nvals : ndarray of int64
        Fields in the run.

    Returns
    -------
    ndarray of int32
        All fields, run after run.
    """
    total = int(nvals.sum())
    wide = bool(np.any((bits % 8 != 0) & (bits > 25)))
    word_t, int_t, word_bits = (np.uint64, np.int64, 64) if wide else (np.uint32, np.int32, 32)
    index_t = np.uint32 if 8 * len(blob) + 32 * total < 2**31 else np.uint64
    planes, m = word_planes(blob, word_t)
    size = np.dtype(word_t).itemsize
    base = offset * 8 - (np.cumsum(nvals) - nvals) * bits  # bit position of value 0 minus its index × bits
    width = np.repeat(bits.astype(index_t), nvals)
    pos = np.arange(total, dtype=index_t)
    pos *= width
    pos += np.repeat(base.astype(index_t), nvals)  # modular: the sum is the true, non-negative position
    byte = pos >> 3
    lane = byte & (size - 1)
    lane *= m
    byte >>= size.bit_length() - 1
    byte += lane
    del lane
    word = planes[byte]
    del byte
    pos &= 7
    shift_right = np.subtract(word_bits, width, dtype=word_t)
    del width
    pos = np.subtract(shift_right, pos.astype(word_t, copy=False), dtype=word_t)
    word <<= pos
    out = word.view(int_t)
    out >>= shift_right.view(int_t)
    return out.astype(np.int32, copy=False)


def sign_extend_partial_bytes(
    chan: npt.NDArray[np.int32],
    res: npt.NDArray[np.int64],
    compressed: npt.NDArray[np.bool_],
    first_row: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
) -> None:
    """Sign-extend raw/reference values whose resolution is not whole bytes from bit ``res − 1``.

    ``chan`` is changed in place (Polar's reference-sample rule: a value read as whole signed bytes is
    OR-ed with the sign mask if any of its bits is set).

    Parameters
    ----------
    chan : ndarray of int32, shape (C, N)
        Samples, channel-major.
    res : ndarray of int64, shape (F,)
        Resolution of each frame [bit].
    compressed : ndarray of bool, shape (F,)
        Delta frames (only their first sample is a whole-byte value).
    first_row, counts : ndarray of int64, shape (F,)
        First sample and number of samples of each frame.
    """
    partial = res % 8 != 0
    if not partial.any():
        return
    rows = np.concatenate(
        [
            np.repeat(first_row[partial & ~compressed], counts[partial & ~compressed])
            + _ramp(counts[partial & ~compressed]),
            first_row[partial & compressed],
        ]
    )
    row_res = np.concatenate(
        [np.repeat(res[partial & ~compressed], counts[partial & ~compressed]), res[partial & compressed]]
    )
    mask = (np.int64(-1) << (row_res - 1)).astype(np.int32)[None, :]
    block = chan[:, rows]
    chan[:, rows] = np.where(block & mask != 0, block | mask, block)


def _ramp(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """0, 1, …, n−1 for each n in ``counts``, concatenated."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


def integrate_deltas(
    chan: npt.NDArray[np.int32],
    first_row: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    compressed: npt.NDArray[np.bool_],
) -> None:
    """Turn each delta frame's reference + differences into samples, in place (int32, wrapping).

    One cumulative sum runs along all samples; subtracting the total of each frame's predecessors from
    its first sample restarts the sum at every frame. Raw frames' samples are restored afterwards.

    Parameters
    ----------
    chan : ndarray of int32, shape (C, N)
        Reference samples and differences, channel-major.
    first_row, counts : ndarray of int64, shape (F,)
        First sample and number of samples of each frame.
    compressed : ndarray of bool, shape (F,)
        Which frames are delta frames.
    """
    keep = None
    if not compressed.all():
        raw_rows = np.repeat(~compressed, counts)
        keep = chan[:, raw_rows]
    rows = first_row[counts > 0]
    sums = np.add.reduceat(chan, rows, axis=1, dtype=np.int64)
    chan[:, rows[1:]] -= sums[:, :-1].astype(np.int32)
    np.cumsum(chan, axis=1, dtype=np.int32, out=chan)
    if keep is not None:
        chan[:, raw_rows] = keep
