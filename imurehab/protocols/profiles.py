"""Loading ``firmware_protocols/<family>/`` files: the profile TOML and the test vectors.

In an installed wheel the folder ships as ``imurehab/_firmware_protocols``; in a source checkout
(editable install) it is the repository's ``firmware_protocols/``.
"""

from __future__ import annotations

import json
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from imurehab.errors import ProtocolError

__all__ = ["load_profile", "load_vectors", "protocol_dir"]

_PACKAGE = Path(__file__).resolve().parents[1]


def protocol_dir(family: str) -> Path:
    """The folder holding a family's ``spec.md``, ``profile.toml`` and ``vectors.json``.

    Parameters
    ----------
    family : str
        Family name (``"polar-pmd"``).

    Raises
    ------
    ProtocolError
        If no such folder is installed (reason ``"type"``).
    """
    for base in (_PACKAGE / "_firmware_protocols", _PACKAGE.parent / "firmware_protocols"):
        if (base / family).is_dir():
            return base / family
    raise ProtocolError("no firmware_protocols folder for this family", family=family, reason="type")


@cache
def load_profile(family: str) -> dict[str, Any]:
    """A family's profile (UUIDs, commands, frame types, scaling, rates, clock semantics).

    Parameters
    ----------
    family : str
        Family name.

    Returns
    -------
    dict
        The parsed ``profile.toml``. Cached: treat it as read-only.
    """
    path = protocol_dir(family) / "profile.toml"
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ProtocolError(f"cannot read {path}: {err}", family=family, reason="value") from err


def load_vectors(family: str) -> list[dict[str, Any]]:
    """A family's test vectors: ``family``, ``what``, ``hex``, ``settings``, ``expect``, ``source``.

    Parameters
    ----------
    family : str
        Family name.
    """
    path = protocol_dir(family) / "vectors.json"
    return list(json.loads(path.read_text()))
