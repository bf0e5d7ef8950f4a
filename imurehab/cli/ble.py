"""``imurehab scan``, ``imurehab sync`` and ``imurehab stream``: BLE sensors, real or virtual.

With ``--virtual`` the same bleak code path runs against virtual OSP sensors on Bumble's virtual
controllers (a simulated session logged on each), with faults injected from ``--fault`` texts.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn
from rich.table import Table

from imurehab.cli.common import EXIT_PARTIAL, JsonOpt, err_console, errors_as_exit, print_json

VirtualOpt = Annotated[bool, typer.Option("--virtual", help="Use virtual sensors (no hardware needed).")]
SensorsOpt = Annotated[int, typer.Option("--virtual-sensors", min=1, max=16, help="Virtual sensors.")]
MinutesOpt = Annotated[float, typer.Option("--virtual-minutes", min=0.2, help="Minutes each logged.")]
RateOpt = Annotated[float, typer.Option("--virtual-rate", min=10, max=1000, help="Sample rate [Hz].")]
FaultOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--fault",
        help="link-drop@SECONDS, reboot@SECONDS, loss=FRACTION, drift-ppm=X (repeatable; virtual only).",
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the virtual scenario.")]
AddressesArg = Annotated[list[str] | None, typer.Argument(metavar="ADDRESS...", help="Sensor addresses.")]


@dataclass(frozen=True)
class _Target:
    addresses: list[str]
    client_backend: type | None
    scanner_backend: type | None


@contextlib.asynccontextmanager
async def _target(
    virtual: bool,
    addresses: list[str] | None,
    out: Path | None,
    scenario_args: dict[str, Any],
) -> AsyncIterator[_Target]:
    if virtual == bool(addresses):
        raise typer.BadParameter("give --virtual or sensor addresses (not both)")
    if not virtual:
        yield _Target(list(addresses or []), None, None)
        return
    from imurehab.virtual import VirtualBleakClient, VirtualBleakScanner, VirtualScenario

    state = None if out is None else out / "_virtual" / "scenario.json"
    if state is not None:
        state.parent.mkdir(parents=True, exist_ok=True)
    scenario = VirtualScenario(state_file=state, **scenario_args)
    async with scenario.start():
        yield _Target(list(scenario.addresses), VirtualBleakClient, VirtualBleakScanner)


def _scenario_args(
    sensors: int, minutes: float, rate_hz: float, faults: list[str] | None, seed: int
) -> dict[str, Any]:
    """Keyword arguments of :class:`~imurehab.virtual.VirtualScenario` from the ``--virtual-*`` options."""
    return {
        "n_sensors": sensors,
        "minutes": minutes,
        "rate_hz": rate_hz,
        "faults": tuple(faults or ()),
        "seed": seed,
    }


def _run(coro_factory: Callable[[], Any]) -> Any:
    with errors_as_exit():
        return asyncio.run(coro_factory())


@dataclass
class _Bars:
    progress: Progress
    tasks: dict[str, TaskID]

    def update(self, event: Any) -> None:
        task = self.tasks.get(event.address)
        if task is None:
            task = self.progress.add_task(event.address, total=None)
            self.tasks[event.address] = task
        total = event.bytes_total or None
        label = f"{event.serial or event.address} {event.phase}"
        self.progress.update(task, completed=event.bytes_done, total=total, description=label)


def register(app: typer.Typer) -> None:
    """Add the BLE commands to the main app."""

    @app.command()
    def scan(
        virtual: VirtualOpt = False,
        seconds: Annotated[float, typer.Option(min=0.5, help="Scan duration [s].")] = 5.0,
        virtual_sensors: SensorsOpt = 2,
        seed: SeedOpt = 0,
        json_: JsonOpt = False,
    ) -> None:
        """List BLE sensors nearby: address, name, RSSI, family, battery."""
        from imurehab.ble import discover

        async def go() -> list[Any]:
            if virtual:
                async with _target(True, None, None, {"n_sensors": virtual_sensors, "seed": seed}) as t:
                    return await discover(scanner_backend=t.scanner_backend, timeout=seconds)
            return await discover(timeout=seconds)

        devices = _run(go)
        rows = [
            {
                "address": d.address,
                "name": d.name,
                "rssi": d.rssi,
                "family": d.family,
                "battery_percent": d.battery_percent,
            }
            for d in devices
        ]
        if json_:
            print_json({"devices": rows})
            return
        t = Table("address", "name", "rssi", "family", "battery %")
        for r in rows:
            t.add_row(*("" if v is None else str(v) for v in r.values()))
        err_console.print(t)

    @app.command()
    def sync(
        addresses: AddressesArg = None,
        out: Annotated[Path, typer.Option(help="Dataset folder (the raw journal lives in it too).")] = Path(
            "sync-out"
        ),
        erase: Annotated[bool, typer.Option(help="Erase each session on the sensor once verified.")] = False,
        subject: Annotated[str | None, typer.Option(help="Pseudonymous subject id.")] = None,
        session: Annotated[str | None, typer.Option(help="Session id (default: from the time).")] = None,
        virtual: VirtualOpt = False,
        virtual_sensors: SensorsOpt = 2,
        virtual_minutes: MinutesOpt = 1.0,
        virtual_rate: RateOpt = 200.0,
        fault: FaultOpt = None,
        seed: SeedOpt = 0,
        json_: JsonOpt = False,
    ) -> None:
        """Download every sensor's log completely and verified (resumes after drops and crashes)."""
        from imurehab.ble import sync as ble_sync

        scenario = _scenario_args(virtual_sensors, virtual_minutes, virtual_rate, fault, seed)

        async def go(bars: _Bars | None) -> Any:
            async with _target(virtual, addresses, out, scenario) as t:
                return await ble_sync(
                    t.addresses,
                    out,
                    client_backend=t.client_backend,
                    scanner_backend=t.scanner_backend,
                    erase=erase,
                    progress=None if bars is None else bars.update,
                    subject=subject,
                    session=session,
                )

        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
        with Progress(*columns, console=err_console, disable=json_) as progress:
            report = _run(lambda: go(None if json_ else _Bars(progress, {})))
        if json_:
            print_json(report.to_json())
        else:
            t = Table(
                "sensor", "samples", "gaps", "bytes", "CRC verified", "clock ±µs", "reconnects", "error"
            )
            for s in report.sensors:
                t.add_row(
                    s.serial or s.address,
                    f"{s.samples:,}",
                    str(s.gaps),
                    f"{s.journal_bytes:,}",
                    "yes" if s.crc_verified else "NO",
                    f"{s.clock_uncertainty_us:.0f}",
                    str(s.reconnects),
                    "" if s.error is None else str(s.error),
                )
            err_console.print(t)
            err_console.print("complete" if report.complete else "[bold yellow]incomplete[/]: run sync again")
        if not report.complete:
            raise typer.Exit(EXIT_PARTIAL)

    @app.command()
    def stream(
        addresses: AddressesArg = None,
        out: Annotated[Path, typer.Option(help="Dataset folder for what arrives.")] = Path("stream-out"),
        seconds: Annotated[float | None, typer.Option(help="Stop after this long (default: Ctrl-C).")] = None,
        subject: Annotated[str | None, typer.Option(help="Pseudonymous subject id.")] = None,
        session: Annotated[str | None, typer.Option(help="Session id (default: from the time).")] = None,
        log: Annotated[
            bool, typer.Option(help="Also log on the sensors so a later sync fills gaps.")
        ] = False,
        virtual: VirtualOpt = False,
        virtual_sensors: SensorsOpt = 2,
        virtual_minutes: MinutesOpt = 1.0,
        virtual_rate: RateOpt = 200.0,
        fault: FaultOpt = None,
        seed: SeedOpt = 0,
        json_: JsonOpt = False,
    ) -> None:
        """Stream live from several sensors, saying exactly what was missed; Ctrl-C keeps what arrived."""
        from imurehab.ble import stream as ble_stream

        if seconds is None and virtual:
            seconds = 10.0
        scenario = _scenario_args(virtual_sensors, virtual_minutes, virtual_rate, fault, seed)

        async def go() -> Any:
            stop = asyncio.Event()
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
            async with _target(virtual, addresses, out, scenario) as t:
                return await ble_stream(
                    t.addresses,
                    out,
                    seconds=seconds,
                    client_backend=t.client_backend,
                    stop_event=stop,
                    subject=subject,
                    session=session,
                    log=log,
                )

        report = _run(go)
        if json_:
            print_json(report.to_json())
        else:
            t = Table("sensor", "frames", "samples", "lost samples", "gaps", "reconnects", "error")
            for s in report.sensors:
                t.add_row(
                    s.serial or s.address,
                    str(s.frames),
                    f"{s.samples:,}",
                    str(s.lost()),
                    str(len(s.gaps)),
                    str(s.reconnects),
                    "" if s.error is None else str(s.error),
                )
            err_console.print(t)
        if not report.complete:
            raise typer.Exit(EXIT_PARTIAL)
