"""Durable file operations of the raw journal: fsync'd writes, atomic JSON, identity checks, OS errors.

Every operating-system error of the journal becomes a :class:`~imurehab.errors.JournalError` with a
``reason`` (``disk-full`` for ENOSPC/EDQUOT, ``io`` otherwise), so a full disk is one clear line.

Examples
--------
>>> safe_name("OSP 0001/a"), safe_name("")
('OSP_0001_a', 'unknown')
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from pathlib import Path
from typing import Any, Final

from imurehab.errors import JournalError

__all__ = [
    "check_identity",
    "fsync_dir",
    "journal_error",
    "make_dirs",
    "read_json",
    "safe_name",
    "write_all",
    "write_json_atomic",
]

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(text: str, fallback: str = "unknown") -> str:
    """A folder name / identifier from a device string: letters, digits, ``._-`` kept, others → ``_``.

    Parameters
    ----------
    text : str
        E.g. a serial number.
    fallback : str
        Used when nothing usable is left.
    """
    name = _UNSAFE.sub("_", text).lstrip("._-")[:64]
    return name or fallback


def journal_error(err: OSError, path: Path, what: str) -> JournalError:
    """The :class:`~imurehab.errors.JournalError` for an OS error (to ``raise ... from err``).

    Parameters
    ----------
    err : OSError
        The error.
    path : Path
        The file or folder concerned.
    what : str
        What was being done (``"appending to the journal"``).
    """
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return JournalError(
            f"no space left while {what}; what was flushed before stays valid", path=path, reason="disk-full"
        )
    return JournalError(f"{what} failed: {err.strerror or err}", path=path, reason="io")


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte to a file descriptor (``os.write`` may write fewer).

    Parameters
    ----------
    fd : int
        Open file descriptor.
    data : bytes-like
        The bytes.
    """
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk (POSIX; a no-op elsewhere).

    Parameters
    ----------
    path : Path
        The folder.
    """
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, obj: dict[str, Any]) -> None:
    """Replace ``path`` by ``obj`` as JSON, so a reader sees the old or the new file, never a mix.

    Parameters
    ----------
    path : Path
        The file.
    obj : dict
        JSON-ready content.

    Raises
    ------
    JournalError
        ``disk-full`` or ``io``.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            write_all(fd, (json.dumps(obj, indent=1) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise journal_error(err, path, "writing") from err


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file, or None if it does not exist.

    Parameters
    ----------
    path : Path
        The file.

    Raises
    ------
    JournalError
        ``conflict`` when it is not a readable JSON object (not a journal file of ours).
    """
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise JournalError(f"unreadable journal file: {err}", path=path, reason="conflict") from err
    if not isinstance(obj, dict):
        raise JournalError("journal file is not a JSON object", path=path, reason="conflict")
    return obj


def make_dirs(path: Path) -> None:
    """Create a folder and its missing parents, flushing each new entry to disk.

    Parameters
    ----------
    path : Path
        The folder.

    Raises
    ------
    JournalError
        ``disk-full`` or ``io``.
    """
    try:
        missing = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(parents=True, exist_ok=True)
        for created in reversed(missing):
            fsync_dir(created.parent)
    except OSError as err:
        raise journal_error(err, path, "creating the journal folder") from err


def check_identity(path: Path, meta: dict[str, Any], expected: dict[str, Any], what: str) -> None:
    """Refuse a journal folder whose ``meta.json`` names another device or session.

    Parameters
    ----------
    path : Path
        The folder.
    meta : dict
        Its ``meta.json``.
    expected : dict
        The identity fields it must hold.
    what : str
        What the folder is (``"device log session"``), for the message.

    Raises
    ------
    JournalError
        ``conflict``, naming every field that differs.
    """
    diff = {k: (meta.get(k), v) for k, v in expected.items() if meta.get(k) != v}
    if diff:
        detail = ", ".join(f"{k} {old!r} here, {new!r} now" for k, (old, new) in diff.items())
        raise JournalError(
            f"this journal folder belongs to another {what} ({detail}); refusing to mix them: "
            "use another output folder",
            path=path,
            reason="conflict",
        )
