"""Helpers shared by the command modules: error handling, JSON output, KEY=VALUE options."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Final

import typer
from rich.console import Console

from imurehab.errors import ImurehabError

EXIT_OK: Final[int] = 0
EXIT_FAILURE: Final[int] = 1
EXIT_USAGE: Final[int] = 2
EXIT_PARTIAL: Final[int] = 3

err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables.")]


@contextmanager
def errors_as_exit() -> Iterator[None]:
    """Turn library errors into one clear line on stderr and exit code 1."""
    try:
        yield
    except ImurehabError as err:
        err_console.print(f"[bold red]error:[/] {err}", highlight=False, markup=True)
        raise typer.Exit(EXIT_FAILURE) from None
    except OSError as err:
        err_console.print(f"[bold red]error:[/] {err.strerror or err}: {err.filename or ''}", highlight=False)
        raise typer.Exit(EXIT_FAILURE) from None


def json_safe(obj: Any) -> Any:
    """``obj`` with NaN and infinite floats as None (JSON has no such numbers)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def print_json(obj: Any) -> None:
    """Write one JSON document on stdout (strict JSON: NaN and infinities become null)."""
    sys.stdout.write(json.dumps(json_safe(obj), default=str, allow_nan=False) + "\n")


def key_value(items: list[str], option: str) -> dict[str, str]:
    """Parse repeated ``KEY=VALUE`` options; a malformed or repeated key is a usage error."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        if key in out:
            raise typer.BadParameter(f"{key!r} given twice", param_hint=option)
        out[key] = value
    return out
