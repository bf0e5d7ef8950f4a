"""Where things are in a dataset folder: tables, partitions, part files.

Layout: ``<root>/<table>/subject=<id>/session=<id>/part-<n>.parquet``. A file is visible to readers if
its name ends in ``.parquet`` and does not start with ``.`` or ``_`` (the Hive/Spark convention for hidden
files); writers put unfinished files under hidden names that do not end in ``.parquet`` either, so no
glob ever sees them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from imurehab.errors import DatasetNotFoundError
from imurehab.store.columns import SESSION, SUBJECT, TABLES
from imurehab.store.schema import check_table
from imurehab.types import check_identifier

__all__ = [
    "HIDDEN_PREFIXES",
    "PART_SUFFIX",
    "existing_tables",
    "find_parts",
    "next_part_number",
    "part_files",
    "part_name",
    "partition_dir",
    "require_table_dir",
]

PART_SUFFIX: Final = ".parquet"
_PART_RE: Final = re.compile(r"^part-(\d+)\.parquet$")
HIDDEN_PREFIXES: Final[tuple[str, ...]] = (".", "_")
"""File and folder name prefixes readers skip (writers' temporary files start with ".")."""


def part_name(n: int) -> str:
    """File name of part ``n`` of a partition (``part-<n>.parquet``).

    Parameters
    ----------
    n : int
        Part number, from 0.
    """
    return f"part-{n}{PART_SUFFIX}"


def partition_dir(root: Path, table: str, subject: str, session: str) -> Path:
    """The folder of one (subject, session) partition of ``table``; ids are validated.

    Parameters
    ----------
    root : Path
        Dataset folder.
    table : str
        One of :data:`~imurehab.store.columns.TABLES`.
    subject, session : str
        Partition ids.

    Raises
    ------
    IdentifierError
        If ``subject`` or ``session`` is not a safe identifier.
    SchemaError
        If ``table`` is not a canonical table.
    """
    check_table(table, root / table)
    check_identifier(subject, SUBJECT)
    check_identifier(session, SESSION)
    return root / table / f"{SUBJECT}={subject}" / f"{SESSION}={session}"


def _part_sort_key(path: Path) -> tuple[int, int, str]:
    m = _PART_RE.match(path.name)
    return (0, int(m.group(1)), "") if m else (1, 0, path.name)


def part_files(directory: Path) -> list[Path]:
    """The visible Parquet files of one partition folder, ``part-<n>`` in numeric order first.

    Parameters
    ----------
    directory : Path
        A partition folder; if it does not exist, the result is empty.
    """
    if not directory.is_dir():
        return []
    files = [
        p
        for p in directory.iterdir()
        if p.name.endswith(PART_SUFFIX) and not p.name.startswith(HIDDEN_PREFIXES) and p.is_file()
    ]
    return sorted(files, key=_part_sort_key)


def next_part_number(files: list[Path]) -> int:
    """One more than the highest ``part-<n>`` among ``files`` (0 if there is none).

    Parameters
    ----------
    files : list of Path
        The part files of a partition (other names are ignored).
    """
    numbers = [int(m.group(1)) for p in files if (m := _PART_RE.match(p.name))]
    return max(numbers, default=-1) + 1


def _key_dirs(parent: Path, key: str, value: str | None) -> list[Path]:
    """Sub-folders ``<key>=<id>`` of ``parent`` (just ``value``'s if given), sorted by id."""
    if value is not None:
        d = parent / f"{key}={value}"
        return [d] if d.is_dir() else []
    if not parent.is_dir():
        return []
    prefix = f"{key}="
    return sorted(
        (d for d in parent.iterdir() if d.name.startswith(prefix) and d.is_dir()),
        key=lambda d: d.name,
    )


def existing_tables(root: Path) -> list[str]:
    """The canonical tables that have a folder under ``root``, in :data:`TABLES` order.

    Parameters
    ----------
    root : Path
        Dataset folder.
    """
    return [t for t in TABLES if (root / t).is_dir()]


def require_table_dir(root: Path, table: str) -> Path:
    """The folder of ``table`` under ``root``.

    Parameters
    ----------
    root : Path
        Dataset folder.
    table : str
        One of :data:`TABLES`.

    Raises
    ------
    SchemaError
        If ``table`` is not a canonical table.
    DatasetNotFoundError
        If ``root`` is not a folder, or it has no ``table`` folder (the message lists the tables it has).
    """
    check_table(table, root / table)
    if not root.is_dir():
        raise DatasetNotFoundError("no dataset here (not a folder)", path=root)
    path = root / table
    if not path.is_dir():
        present = existing_tables(root)
        raise DatasetNotFoundError(
            f"the dataset has no table {table!r}; tables present: {', '.join(present) or 'none'}",
            path=path,
        )
    return path


def find_parts(root: Path, table: str, subject: str | None = None, session: str | None = None) -> list[Path]:
    """All visible part files of ``table``, optionally of one subject and/or session.

    Parameters
    ----------
    root : Path
        Dataset folder.
    table : str
        One of :data:`TABLES`.
    subject, session : str, optional
        Only this subject's / session's files.

    Returns
    -------
    list of Path
        Sorted by subject id, session id, then part number.

    Raises
    ------
    DatasetNotFoundError
        If the dataset or the table folder does not exist (an absent subject or session is no error: the
        result is empty).
    IdentifierError
        If ``subject`` or ``session`` is given and not a safe identifier.
    """
    for value, key in ((subject, SUBJECT), (session, SESSION)):
        if value is not None:
            check_identifier(value, key)
    table_dir = require_table_dir(root, table)
    return [
        f
        for subject_dir in _key_dirs(table_dir, SUBJECT, subject)
        for session_dir in _key_dirs(subject_dir, SESSION, session)
        for f in part_files(session_dir)
    ]
