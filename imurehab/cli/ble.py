"""``imurehab scan``, ``imurehab sync`` and ``imurehab stream``: BLE sensors, real or virtual.

With ``--virtual`` the same bleak code path runs against virtual sensors on Bumble's virtual controllers,
with faults injected from ``--fault`` texts: OSP sensors by default, or any mix of families with
``--virtual-family FAMILY[:N]`` (repeatable: ``osp``, ``polar-pmd``, ``movesense-gsp``, ``movella-dot``),
all on one virtual air and on distinct segments of one simulated body. For ``sync`` every virtual sensor
holds a session of ``--virtual-minutes`` (an OSP log, a Polar offline recording, a Movesense Logbook
entry, a DOT flash recording); ``stream`` asks each family for ``--virtual-rate`` (its nearest rate).
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

from imurehab.align import SensorAlignment
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
MovementOpt = Annotated[
    str | None,
    typer.Option(
        "--virtual-movement",
        help="Simulated movement of the virtual sensors (default: the --exercise, or walking).",
    ),
]
FamilyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--virtual-family",
        help="FAMILY or FAMILY:N (N sensors; default --virtual-sensors) of virtual sensors: osp (default), "
        "polar-pmd, movesense-gsp, movella-dot. Repeatable: a mixed session on one air.",
    ),
]
AddressesArg = Annotated[list[str] | None, typer.Argument(metavar="ADDRESS...", help="Sensor addresses.")]


@dataclass(frozen=True)
class _Target:
    addresses: list[str]
    client_backend: type | None
    scanner_backend: type | None
    families: dict[str, str] | None = None


def _virtual(
    texts: list[str] | None, sensors: int, out: Path | None, *, log: bool = False, **args: Any
) -> Any:
    """The virtual scenario of the ``--virtual-*`` options (:func:`imurehab.virtual.mixed.virtual_scenario`).

    A bad ``--virtual-family`` text, or a fault a family cannot suffer, is a usage error naming it.
    """
    from imurehab.errors import DataValidationError
    from imurehab.virtual.mixed import parse_family_specs, virtual_scenario

    try:
        specs = parse_family_specs(texts or ["osp"], sensors)
        state = None if out is None else out / "_virtual" / "scenario.json"
        return virtual_scenario(specs, state_file=state, log=log, **args)
    except DataValidationError as err:
        raise typer.BadParameter(str(err), param_hint="--virtual-family, --fault or --virtual-*") from None


def _requests(families: set[str], rate_hz: float) -> dict[str, object]:
    """Each streaming family's request at the rate nearest ``rate_hz`` it offers."""
    from imurehab.ble import DotRequest, MovesenseRequest, PolarRequest
    from imurehab.protocols import load_profile
    from imurehab.protocols.movesense import RATES_HZ
    from imurehab.virtual.mixed import nearest_rate

    every: dict[str, object] = {
        "polar-pmd": PolarRequest({"acc": (rate_hz, 8.0), "gyro": (rate_hz, 2000.0)}),
        "movesense-gsp": MovesenseRequest("IMU6", nearest_rate(rate_hz, RATES_HZ)),
        "movella-dot": DotRequest(
            21, nearest_rate(rate_hz, load_profile("movella-dot")["rates"]["streaming_hz"])
        ),
    }
    return {f: r for f, r in every.items() if f in families}


def _check_target(virtual: bool, addresses: list[str] | None) -> None:
    if virtual == bool(addresses):
        raise typer.BadParameter("give --virtual or sensor addresses (not both)")


@contextlib.asynccontextmanager
async def _target(addresses: list[str] | None, scenario: Any) -> AsyncIterator[_Target]:
    """The sensors to talk to: the addresses given, or the virtual scenario's on its air."""
    if scenario is None:
        yield _Target(list(addresses or []), None, None)
        return
    from imurehab.virtual import VirtualBleakClient, VirtualBleakScanner

    async with scenario.start():
        yield _Target(list(scenario.addresses), VirtualBleakClient, VirtualBleakScanner, scenario.families)


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
        virtual_family: FamilyOpt = None,
        seed: SeedOpt = 0,
        json_: JsonOpt = False,
    ) -> None:
        """List BLE sensors nearby: address, name, RSSI, family, battery."""
        from imurehab.ble import discover

        scenario = None
        if virtual:
            scenario = _virtual(virtual_family, virtual_sensors, None, seed=seed)

        async def go() -> list[Any]:
            async with _target(None, scenario) as t:
                return await discover(scanner_backend=t.scanner_backend, timeout=seconds)

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
        virtual_family: FamilyOpt = None,
        virtual_movement: MovementOpt = None,
        virtual_shake: Annotated[
            bool,
            typer.Option(
                "--virtual-shake",
                help="The virtual sensors were shaken together at both ends of their logs: the sync puts "
                "them on one timeline by it.",
            ),
        ] = False,
        json_: JsonOpt = False,
    ) -> None:
        """Download every sensor's log completely and verified (resumes after drops and crashes).

        With --virtual every virtual sensor holds a session of --virtual-minutes: an OSP log, a Polar
        offline recording, a Movesense Logbook entry or a DOT flash recording. Sensors shaken together
        while they logged (held as one bundle before strapping on, and after taking off) are put on one
        timeline by that shake (the "shake shift" column; docs/sensors-mixed.md).
        """
        from imurehab.ble import RetryPolicy, find_families
        from imurehab.ble import sync as ble_sync

        _check_target(virtual, addresses)
        scenario = None
        if virtual:
            args = {"minutes": virtual_minutes, "rate_hz": virtual_rate, "faults": fault or (), "seed": seed}
            args["movement"] = virtual_movement or "walking"
            scenario = _virtual(virtual_family, virtual_sensors, out, log=True, shake=virtual_shake, **args)
        families: dict[str, str | None] = {}

        async def go(bars: _Bars | None) -> Any:
            async with _target(addresses, scenario) as t:
                families.update(
                    t.families
                    or await find_families(
                        t.addresses, scanner_backend=t.scanner_backend, timeout=RetryPolicy().scan_timeout_s
                    )
                )
                return await ble_sync(
                    t.addresses,
                    out,
                    client_backend=t.client_backend,
                    scanner_backend=t.scanner_backend,
                    erase=erase,
                    progress=None if bars is None else bars.update,
                    subject=subject,
                    session=session,
                    families=families,
                )

        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
        with Progress(*columns, console=err_console, disable=json_) as progress:
            report = _run(lambda: go(None if json_ else _Bars(progress, {})))
        if scenario is not None and report.paths:
            _store_virtual_placements(out, report, scenario.placed())
        if json_:
            doc = report.to_json()
            for row, s in zip(doc["sensors"], report.sensors, strict=True):
                row["family"] = families.get(s.address)
            print_json(doc)
        else:
            shaken = any(s.alignment is not None for s in report.sensors)
            head = ["sensor", "family", "samples", "gaps", "bytes", "CRC verified", "clock ±µs"]
            t = Table(*head, *(["shake shift"] if shaken else []), "reconnects", "error")
            for s in report.sensors:
                cells = [
                    s.serial or s.address,
                    families.get(s.address) or "?",
                    f"{s.samples:,}",
                    str(s.gaps),
                    f"{s.journal_bytes:,}",
                    "yes" if s.crc_verified else "NO",
                    f"{s.clock_uncertainty_us:.0f}",
                ]
                shift = [_shift_text(s.alignment)] if shaken else []
                t.add_row(*cells, *shift, str(s.reconnects), "" if s.error is None else str(s.error))
            err_console.print(t)
            for s in report.sensors:
                if s.alignment is not None and not s.alignment.applied:
                    why = s.alignment.reason
                    err_console.print(f"{s.serial or s.address}: not aligned on a shake: {why}")
            if report.write_error is not None:
                err_console.print(f"[bold red]not written:[/] {report.write_error}", highlight=False)
                err_console.print("Everything downloaded stays in the dataset's _journal folder.")
            elif not report.complete:
                err_console.print("[bold yellow]incomplete[/]: run sync again")
            else:
                err_console.print("complete")
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
        exercise: Annotated[
            str | None, typer.Option(help="Exercise template: show live cues (calibrating, reps, deeper...).")
        ] = None,
        side: Annotated[
            str | None, typer.Option(help="Side exercised (default: from the placements).")
        ] = None,
        place: Annotated[
            list[str] | None,
            typer.Option(help="ADDRESS=SEGMENT (or SERIAL=SEGMENT), e.g. thigh_right; repeatable."),
        ] = None,
        virtual_movement: MovementOpt = None,
        virtual_family: FamilyOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        """Stream live from several sensors, saying exactly what was missed; Ctrl-C keeps what arrived.

        With --exercise, cue events are shown live on stderr (with --json also one JSON line each on
        stdout, before the final report's line). Start still in the exercise's pose, then do one slow
        repetition to calibrate.
        """
        from imurehab.ble import stream as ble_stream
        from imurehab.cli.feedback import LiveCues

        with errors_as_exit():
            cues = None if exercise is None else LiveCues(exercise, place or [], side, json_)
        movement = virtual_movement or "walking"
        if cues is not None and virtual:
            virtual_sensors, movement = cues.virtual(virtual_sensors, virtual_movement)
        if seconds is None and virtual:
            seconds = 10.0 if cues is None else 30.0
        _check_target(virtual, addresses)
        scenario, requests = None, None
        if virtual:
            args = {"minutes": virtual_minutes, "rate_hz": virtual_rate, "faults": fault or (), "seed": seed}
            scenario = _virtual(virtual_family, virtual_sensors, out, movement=movement, **args)
            requests = _requests(set(scenario.families.values()), virtual_rate)

        async def go() -> Any:
            stop = asyncio.Event()
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
            async with _target(addresses, scenario) as t:
                if cues is not None:
                    cues.start(
                        {} if scenario is None else scenario.placed(), virtual_rate if virtual else None
                    )
                return await ble_stream(
                    t.addresses,
                    out,
                    seconds=seconds,
                    client_backend=t.client_backend,
                    on_samples=None if cues is None else cues.on_samples,
                    stop_event=stop,
                    subject=subject,
                    session=session,
                    log=log,
                    families=t.families,
                    requests=requests,
                )

        report = _run(go)
        if json_:
            doc = report.to_json()
            if cues is not None:
                doc["feedback"] = cues.summary()
            print_json(doc)
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


def _shift_text(alignment: SensorAlignment | None) -> str:
    """The sync table's cell for a sensor's shake alignment ("" for the reference and without a shake)."""
    if alignment is None:
        return ""
    if not alignment.applied:
        return "not moved"
    return f"{alignment.shift_us / 1e3:+.3f} ms"


def _store_virtual_placements(out: Path, report: Any, placed: dict[str, str]) -> None:
    """Write where the virtual sensors were strapped into the synced session (as a session profile does)."""
    from imurehab.session.sensors import store_placements

    placements = {
        s.sensor_id: placed[s.address.upper()]
        for s in report.sensors
        if s.sensor_id is not None and s.address.upper() in placed
    }
    if placements:
        from imurehab.errors import DatasetNotFoundError

        with contextlib.suppress(DatasetNotFoundError):  # nothing new was written into this session
            store_placements(out, report.subject, report.session, placements, None)
