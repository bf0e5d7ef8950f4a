"""Reading one TOML table strictly: typed getters that name the dotted key in every error."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from imurehab.errors import TemplateError

__all__ = ["Table", "show"]


class Table:
    """One TOML table being checked: takes keys off it and knows its dotted location for errors."""

    def __init__(self, data: Mapping[str, Any], where: str, path: Path) -> None:
        self._data = dict(data)
        self._where = where
        self.path = path

    def key(self, name: str) -> str:
        return f"{self._where}.{name}" if self._where else name

    def fail(self, name: str | None, message: str) -> TemplateError:
        return TemplateError(message, path=self.path, key=self.key(name) if name else self._where or None)

    def has(self, name: str) -> bool:
        return name in self._data

    def raw(self, name: str, *, required: bool) -> Any:
        if name not in self._data:
            if required:
                raise self.fail(name, "missing (required)")
            return None
        return self._data.pop(name)

    def text(self, name: str, *, required: bool = True, default: str | None = None) -> str | None:
        value = self.raw(name, required=required)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, f"expected non-empty text, got {show(value)}")
        return value.strip()

    def choice(self, name: str, options: frozenset[str] | tuple[str, ...]) -> str:
        value = self.text(name)
        if value not in options:
            raise self.fail(name, f"expected one of {', '.join(sorted(options))}, got {value!r}")
        return value

    def number(
        self, name: str, *, required: bool = True, low: float = -math.inf, high: float = math.inf
    ) -> float | None:
        value = self.raw(name, required=required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(name, f"expected a number, got {show(value)}")
        if not low <= value <= high:
            raise self.fail(name, f"expected a number in [{low:g}, {high:g}], got {value!r}")
        return float(value)

    def table(self, name: str, *, required: bool = True) -> Table | None:
        value = self.raw(name, required=required)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(name, f"expected a table [{self.key(name)}], got {show(value)}")
        return Table(value, self.key(name), self.path)

    def remaining(self) -> list[str]:
        return sorted(self._data)

    def done(self) -> None:
        """Refuse whatever key is left: it is not part of the format (a typo, most often)."""
        if self._data:
            name = sorted(self._data)[0]
            raise self.fail(name, "unknown key (check its spelling; see docs/exercise-templates.md)")


def show(value: object) -> str:
    """Describe a TOML value for an error message: its kind in words and its repr.

    Parameters
    ----------
    value : object
        A value read from TOML.

    Returns
    -------
    str
        E.g. ``"text ('15')"``, ``"a boolean (True)"``.
    """
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "text", list: "a list"}
    return f"{kind.get(type(value), type(value).__name__)} ({value!r})"
