"""The exception tree of imurehab: one root, subclasses with structured fields.

Every error the library raises on purpose derives from :class:`ImurehabError`. Subclasses carry the
facts a caller needs to act (which sensor, which column, which row, which byte offset, which path) as
attributes, and a message that names them, so the command-line app can print one clear line.

The tree:

- :class:`ImurehabError`
    - :class:`DataValidationError` (also a ``ValueError``): :class:`ShapeError`, :class:`NonFiniteError`,
      :class:`TimeOrderError`, :class:`UnitsError`, :class:`DuplicateSensorError`, :class:`IdentifierError`
    - :class:`StoreError`: :class:`DatasetNotFoundError`, :class:`PartitionExistsError`, :class:`SchemaError`,
      :class:`JournalError`
    - :class:`ImportFormatError`, :class:`SimulationError`, :class:`ProtocolError` (also ``ValueError``)
    - :class:`BleError`, :class:`SyncIncompleteError`
    - :class:`ConfigFileError` (also a ``ValueError``; ``path`` and dotted ``key``): :class:`TemplateError`
      (exercise templates), :class:`ProfileError` (session profiles)

Examples
--------
>>> import numpy as np
>>> from imurehab import SensorInfo, SensorSamples, ImurehabError
>>> info = SensorInfo(sensor_id="S1", family="generic", rate_hz=100.0)
>>> try:
...     SensorSamples(info=info, time_us=np.array([2, 1]), acc=np.zeros((2, 3)), gyr=np.zeros((2, 3)))
... except ImurehabError as err:
...     print(type(err).__name__, err.sensor_id, err.index)
TimeOrderError S1 1
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DataValidationError",
    "DatasetNotFoundError",
    "DuplicateSensorError",
    "IdentifierError",
    "ImportFormatError",
    "ImurehabError",
    "NonFiniteError",
    "PartitionExistsError",
    "ProtocolError",
    "SchemaError",
    "ShapeError",
    "SimulationError",
    "StoreError",
    "TimeOrderError",
    "UnitsError",
]


class ImurehabError(Exception):
    """Root of every error imurehab raises on purpose.

    Catch this to handle any library failure; the message is one line meant for a person.
    """


# --- data validation -------------------------------------------------------------------------------


class DataValidationError(ImurehabError, ValueError):
    """Data handed to imurehab breaks a documented rule.

    Attributes
    ----------
    sensor_id : str or None
        The sensor whose data is wrong, where one is concerned.
    column : str or None
        The array or column that is wrong (``"acc"``, ``"time_us"``, ...).
    index : int or None
        The first offending sample (row) index, where one can be named.
    """

    def __init__(
        self,
        message: str,
        *,
        sensor_id: str | None = None,
        column: str | None = None,
        index: int | None = None,
    ) -> None:
        self.sensor_id = sensor_id
        self.column = column
        self.index = index
        where = []
        if sensor_id is not None:
            where.append(f"sensor {sensor_id!r}")
        if column is not None:
            where.append(f"column {column!r}")
        if index is not None:
            where.append(f"sample {index}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class ShapeError(DataValidationError):
    """An array has the wrong shape or length (e.g. ``acc`` not (N, 3), lengths that differ)."""


class NonFiniteError(DataValidationError):
    """An array holds NaN or ±inf where finite values are required."""


class TimeOrderError(DataValidationError):
    """Timestamps or sample indices are not strictly increasing."""


class UnitsError(DataValidationError):
    """Data is not in SI units, or its magnitudes show it was given in other units (g, deg/s)."""


class DuplicateSensorError(DataValidationError):
    """Two sensors of one recording share a sensor id."""


class IdentifierError(DataValidationError):
    """A subject, session or sensor id is not a safe identifier (letters, digits, ``._-``; 1–64 chars)."""


# --- storage ---------------------------------------------------------------------------------------


class StoreError(ImurehabError):
    """Reading or writing a dataset failed.

    Attributes
    ----------
    path : pathlib.Path or None
        The file or folder concerned.
    """

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class DatasetNotFoundError(StoreError):
    """The dataset folder, table or requested partition does not exist."""


class PartitionExistsError(StoreError):
    """A write would replace an existing subject/session partition and ``overwrite`` was not given."""


class SchemaError(StoreError):
    """A table's columns or types differ from the canonical schema.

    Attributes
    ----------
    column : str or None
        The offending column.
    """

    def __init__(self, message: str, *, path: str | Path | None = None, column: str | None = None) -> None:
        self.column = column
        super().__init__(f"column {column!r}: {message}" if column else message, path=path)


class ImportFormatError(ImurehabError, ValueError):
    """A file brought in with ``imurehab import`` is not in the documented generic format.

    Attributes
    ----------
    file : pathlib.Path
        The file being read.
    row : int or None
        The 1-based data row (header excluded) of the first problem, where one can be named.
    column : str or None
        The column concerned.
    """

    def __init__(
        self, message: str, *, file: str | Path, row: int | None = None, column: str | None = None
    ) -> None:
        self.file = Path(file)
        self.row = row
        self.column = column
        where = [str(self.file)]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")


class SimulationError(ImurehabError, ValueError):
    """A simulation was asked for something it cannot produce (unknown movement, bad parameter)."""


class ProtocolError(ImurehabError, ValueError):
    """Bytes from a sensor do not form a valid frame, response or file of their protocol.

    Every decoder in :mod:`imurehab.protocols` raises only this (never IndexError, struct.error or a
    bare ValueError from inside), so one ``except`` handles every damaged packet.

    Attributes
    ----------
    family : str
        Protocol family (``"polar-pmd"``, ``"osp"``, ...).
    reason : str
        Short machine-readable cause: ``"truncated"``, ``"overlong"``, ``"crc"``, ``"type"`` (unknown
        frame, command or measurement type), ``"value"`` (a field out of its range), ``"sequence"``,
        ``"settings"`` (the decoder lacks a setting the frame does not carry).
    offset : int or None
        Byte offset in the packet (or file) where the problem was found.
    """

    def __init__(self, message: str, *, family: str, reason: str, offset: int | None = None) -> None:
        self.family = family
        self.reason = reason
        self.offset = offset
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{family}: {message}{where} ({reason})")


# --- BLE ingest ------------------------------------------------------------------------------------


class BleError(ImurehabError):
    """A Bluetooth LE device could not be reached, or did not answer as its protocol says.

    Attributes
    ----------
    address : str
        The device's address (as given by the caller).
    reason : str
        Short machine-readable cause: ``"not-found"`` (no such device advertising), ``"unreachable"``
        (connects kept failing), ``"disconnected"`` (the link dropped), ``"timeout"`` (no answer in time),
        ``"stalled"`` (connected but no progress: the device stopped sending), ``"protocol"`` (malformed
        or unexpected bytes), ``"device"`` (the device answered with an error status), ``"unsupported"``
        (not a device of a family this operation speaks).
    """

    def __init__(self, message: str, *, address: str, reason: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"{address}: {message} ({reason})")


class SyncIncompleteError(ImurehabError):
    """A sync ended without every session of every device downloaded and verified.

    Attributes
    ----------
    addresses : tuple of str
        The devices left incomplete.
    report : object
        The :class:`imurehab.ble.SyncReport` of the run: what was verified, what is missing, and why.
    """

    def __init__(self, message: str, *, addresses: tuple[str, ...], report: object) -> None:
        self.addresses = addresses
        self.report = report
        super().__init__(message)


class JournalError(StoreError):
    """The on-disk raw journal of a BLE ingest cannot be used.

    Attributes
    ----------
    path : pathlib.Path or None
        The journal file or folder concerned.
    reason : str
        ``"conflict"`` (the folder holds another device's or session's journal), ``"busy"`` (another
        process is writing to it), ``"disk-full"`` (no space left: what was written before stays valid),
        ``"io"`` (another operating-system error).
    """

    def __init__(self, message: str, *, path: str | Path | None = None, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{message} ({reason})", path=path)


__all__ += ["BleError", "JournalError", "SyncIncompleteError"]


# --- settings files: exercise templates, session profiles -----------------------------------------


class ConfigFileError(ImurehabError, ValueError):
    """A TOML settings file is missing, is not valid TOML, or breaks its documented format.

    Attributes
    ----------
    path : pathlib.Path or None
        The file concerned (``None`` for text parsed without a file, or a built-in name that is unknown).
    key : str or None
        The offending key as a dotted path (``"tempo.min_rep_s"``, ``"sensors[2].side"``), or ``None``
        when the problem is with the file as a whole.
    """

    def __init__(self, message: str, *, path: str | Path | None = None, key: str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.key = key
        where = [str(self.path)] if self.path is not None else []
        if key is not None:
            where.append(f"key {key!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class TemplateError(ConfigFileError):
    """An exercise template is missing, is not valid TOML, or breaks the template format."""


class ProfileError(ConfigFileError):
    """A session profile is missing, is not valid TOML, or breaks the profile format (see the docs)."""


__all__ += ["ConfigFileError", "ProfileError", "TemplateError"]
