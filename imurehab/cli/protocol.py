"""``imurehab protocol``: list the sensor protocol families and decode packets, for firmware authors."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.table import Table

from imurehab.cli.common import JsonOpt, err_console, errors_as_exit, key_value, print_json

app = typer.Typer(help="Sensor protocol codecs: list families, decode packets.", no_args_is_help=True)

_HEX_RE = re.compile(r"^[0-9A-Fa-f\s:_-]*$")


def _parse_setting(text: str) -> Any:
    # Leading zeros mean a hex string (a key, a descriptor), not a number: keep those as text.
    if len(text) > 1 and text[0] == "0" and text[1] not in ".eE":
        return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _packets(hex_args: list[str]) -> list[bytes]:
    """One packet per argument; arguments that are all single bytes (``02 00 94`` unquoted) form one."""
    for h in hex_args:
        if not _HEX_RE.match(h):
            raise typer.BadParameter(f"not hexadecimal: {h!r}", param_hint="HEX")
    cleaned = [re.sub(r"[\s:_-]", "", h) for h in hex_args]
    if len(cleaned) > 1 and all(len(c) == 2 for c in cleaned):
        cleaned = ["".join(cleaned)]
    packets = []
    for c in cleaned:
        if len(c) % 2:
            raise typer.BadParameter(f"odd number of hex digits: {c!r}", param_hint="HEX")
        packets.append(bytes.fromhex(c))
    return packets


@app.command("list")
def list_cmd(json_: JsonOpt = False) -> None:
    """List the protocol families and the settings each decoder takes."""
    from imurehab.protocols import list_families

    with errors_as_exit():
        families = list_families()
    if json_:
        print_json([{"family": f.name, "title": f.title, "settings": dict(f.settings)} for f in families])
        return
    t = Table("family", "what", "settings (--set)")
    for f in families:
        t.add_row(f.name, f.title, ", ".join(f"{k}: {v}" for k, v in f.settings.items()))
    err_console.print(t)


@app.command("decode")
def decode_cmd(
    hex_packets: Annotated[
        list[str], typer.Argument(metavar="HEX...", help="Packets in hex, one per argument.")
    ],
    family: Annotated[str, typer.Option(help="Protocol family (see `imurehab protocol list`).")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEY=VALUE the packets do not carry, e.g. channels=3 (repeatable)."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Decode packets into SI samples (acc m/s², gyr rad/s, mag µT; time_ns on the device clock)."""
    from imurehab.protocols import decode_packets

    packets = _packets(hex_packets)
    settings = {k: _parse_setting(v) for k, v in key_value(set_ or [], "--set").items()}
    with errors_as_exit():
        result = decode_packets(family, packets, settings)
    out = result.to_json()
    if json_:
        print_json(out)
        return
    err_console.print(f"[bold]{family}[/]: {len(result)} sample(s)")
    for k, v in out["info"].items():
        err_console.print(f"  {k}: {v}")
    if out["samples"]:
        t = Table("time_ns", "acc [m/s²]", "gyr [rad/s]", "mag [µT]")

        def fmt(v: list[float] | None) -> str:
            return "" if v is None else ", ".join(f"{x:.6g}" for x in v)

        for s in out["samples"]:
            t.add_row(
                "" if s["time_ns"] is None else str(s["time_ns"]), fmt(s["acc"]), fmt(s["gyr"]), fmt(s["mag"])
            )
        err_console.print(t)
