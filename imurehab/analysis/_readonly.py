"""Pickling of frozen dataclasses whose mapping fields are read-only views (:class:`types.MappingProxyType`).

``pickle`` refuses a ``MappingProxyType``; results that carry one (rep qualities, session summaries) still
have to travel between processes (:mod:`imurehab.batch`). :class:`ReadOnlyMappings` pickles such a field
as a plain dict and restores it as a read-only view, for its own class only (no process-wide rule).
"""

from __future__ import annotations

from dataclasses import fields
from types import MappingProxyType
from typing import Any

__all__ = ["ReadOnlyMappings"]


def _restore(cls: type, values: dict[str, Any], proxied: tuple[str, ...]) -> Any:
    return cls(**{k: MappingProxyType(v) if k in proxied else v for k, v in values.items()})


class ReadOnlyMappings:
    """Mixin of a frozen dataclass: its ``MappingProxyType`` fields pickle as dicts, unpickle as views."""

    def __reduce__(self) -> tuple[Any, tuple[type, dict[str, Any], tuple[str, ...]]]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        proxied = tuple(k for k, v in values.items() if isinstance(v, MappingProxyType))
        values.update({k: dict(values[k]) for k in proxied})
        return _restore, (type(self), values, proxied)
