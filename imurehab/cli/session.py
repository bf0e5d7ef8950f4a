"""``imurehab session start PROFILE`` and ``imurehab session sync PROFILE``: a session from a profile.

``start`` connects to the profile's sensors only, syncs their clocks and starts onboard logging;
``sync`` stops it, downloads every sensor verified (resuming after drops), places the sensors on their
segments, processes the session and writes the physiotherapist's report, saying what is missing. With
``--virtual`` the profile runs on virtual OSP sensors matched to it by placement
(:mod:`imurehab.session.virtual`); see docs/session-profiles.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn
from rich.table import Table

from imurehab.cli.ble import FaultOpt, MinutesOpt, SeedOpt, VirtualOpt
from imurehab.cli.common import EXIT_PARTIAL, EXIT_USAGE, JsonOpt, err_console, errors_as_exit, print_json

if TYPE_CHECKING:
    from imurehab.ble import SyncProgress
    from imurehab.session import SessionProfile, SessionStart, SessionSync

ProfileArg = Annotated[Path, typer.Argument(help="Session profile (.toml), see docs/session-profiles.md.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Dataset folder (the raw journal lives in it too).")]
SessionOpt = Annotated[
    str | None,
    typer.Option(help="Study session id (default: the one `session start` opened, else the time)."),
]
RateOpt = Annotated[float, typer.Option("--virtual-rate", min=10, max=1000, help="Sample rate [Hz].")]
ExtraOpt = Annotated[
    int,
    typer.Option(
        "--virtual-extra", min=0, max=13, help="Virtual sensors on the air that are not in the profile."
    ),
]
DEFAULT_OUT = Path("session-data")


@contextlib.contextmanager
def _profile_errors_as_usage() -> Iterator[None]:
    """A profile that breaks the format, or an option it contradicts, is a usage error (exit 2)."""
    from imurehab.session import ProfileError

    try:
        yield
    except ProfileError as err:
        err_console.print(f"[bold red]error:[/] {err}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None


def _load(path: Path) -> SessionProfile:
    from imurehab.session import load_profile

    with _profile_errors_as_usage():
        return load_profile(path)


@contextlib.asynccontextmanager
async def _sensors(
    profile: SessionProfile, virtual: bool, out: Path, options: dict[str, Any]
) -> AsyncIterator[tuple[SessionProfile, dict[str, Any], dict[str, Any]]]:
    """The profile to run and the bleak backends: as given, or bound to virtual sensors on an open air."""
    if not virtual:
        yield profile, {}, {}
        return
    from imurehab.session import bind_virtual, virtual_scenario
    from imurehab.virtual import VirtualBleakClient, VirtualBleakScanner

    # One virtual world per seed: each --seed is another visit, into the same dataset.
    state = out / "_virtual" / f"session-seed{options['seed']}.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    scenario = virtual_scenario(profile, state_file=state, **options)
    bound = bind_virtual(profile, scenario)
    used = {s.address for s in bound.sensors}
    shown = {
        "sensors": {s.placement: s.address for s in bound.sensors},
        "not_in_profile": [a for a in scenario.addresses if a not in used],
        "movement": scenario.movement,
    }
    async with scenario.start():
        yield bound, {"client_backend": VirtualBleakClient, "scanner_backend": VirtualBleakScanner}, shown


def _virtual_options(
    minutes: float, rate_hz: float, faults: list[str] | None, seed: int, extra: int
) -> dict[str, Any]:
    return {
        "minutes": minutes,
        "rate_hz": rate_hz,
        "faults": tuple(faults or ()),
        "seed": seed,
        "extra": extra,
    }


def _show_virtual(shown: dict[str, Any]) -> None:
    if not shown:
        return
    placed = ", ".join(f"{p} → {a}" for p, a in shown["sensors"].items())
    err_console.print(f"[cyan]virtual:[/] {shown['movement']} on {placed}", highlight=False)
    if shown["not_in_profile"]:
        err_console.print(
            f"[cyan]virtual:[/] also on the air, not in the profile: {', '.join(shown['not_in_profile'])}"
        )


class _Bars:
    """One download bar per sensor, named by its segment."""

    def __init__(self, progress: Progress, profile: SessionProfile) -> None:
        self.progress = progress
        self.names = {s.address.upper(): s.placement for s in profile.sensors if s.address}
        self.tasks: dict[str, TaskID] = {}

    def update(self, event: SyncProgress) -> None:
        if event.address not in self.tasks:
            self.tasks[event.address] = self.progress.add_task(event.address, total=None)
        name = self.names.get(event.address.upper(), event.serial or event.address)
        self.progress.update(
            self.tasks[event.address],
            completed=event.bytes_done,
            total=event.bytes_total or None,
            description=f"{name} {event.phase}",
        )

    def phase(self, line: str) -> None:
        self.progress.console.print(f"· {line}", highlight=False)


def _show_start(result: SessionStart) -> None:
    t = Table("sensor", "family", "serial", "logging", "detail")
    for s in result.sensors:
        t.add_row(s.address, s.family, s.serial or "", "yes" if s.done else "NO", s.error or s.detail)
    err_console.print(t)
    if len(result.sensors) > 1 and any(s.family != "osp" for s in result.sensors):
        err_console.print(  # only OSP has a clock round trip; the others' clocks are placed one way
            "Hold the sensors together and shake them for 3 s now, before strapping them on, and again "
            "after taking them off: it puts them on one timeline within 1 ms (docs/sensors-mixed.md).",
            highlight=False,
        )
    for exercise, pose in result.profile.poses().items():
        err_console.print(
            f"{exercise}: start each set still, [bold]{pose}[/], for a few seconds.", highlight=False
        )
    err_console.print(f"Session {result.session} started in {result.dataset}.", highlight=False)


def _show_sync(result: SessionSync) -> None:
    if result.sync is not None:
        t = Table("segment", "sensor", "samples", "gaps", "CRC verified", "reconnects", "error")
        for s in result.sync.sensors:
            t.add_row(
                result.placements.get(s.sensor_id or "", ""),
                s.serial or s.address,
                f"{s.samples:,}",
                str(s.gaps),
                "yes" if s.crc_verified else "NO",
                str(s.reconnects),
                "" if s.error is None else str(s.error),
            )
        err_console.print(t)
    if result.processed is not None:
        for j in result.processed.joints:
            if j.summary is not None:
                err_console.print(j.summary.text(), highlight=False)
    if result.report is not None:
        err_console.print(f"Report written to {result.report.path}", highlight=False)
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)
    for line in result.missing:
        err_console.print(f"[bold yellow]missing:[/] {line}", highlight=False)
    err_console.print(
        "complete" if result.complete else "[bold yellow]incomplete[/]: run the same sync again"
    )


def _run(go: Callable[[], Any]) -> Any:
    with _profile_errors_as_usage(), errors_as_exit():
        return asyncio.run(go())


def register(app: typer.Typer) -> None:
    """Add the ``session`` command group (``start``, ``sync``) to ``app``.

    Parameters
    ----------
    app : typer.Typer
        The command-line app.
    """
    group = typer.Typer(
        help="Run a session from a profile: start logging on its sensors; sync, process and report.",
        no_args_is_help=True,
    )
    app.add_typer(group, name="session")

    @group.command("start")
    def start(
        profile: ProfileArg,
        out: OutOpt = DEFAULT_OUT,
        session: SessionOpt = None,
        virtual: VirtualOpt = False,
        virtual_minutes: MinutesOpt = 1.0,
        virtual_rate: RateOpt = 100.0,
        virtual_extra: ExtraOpt = 1,
        fault: FaultOpt = None,
        seed: SeedOpt = 0,
        json_: JsonOpt = False,
    ) -> None:
        """Configure the profile's sensors, sync their clocks, start onboard logging (exit 3: one failed)."""
        from imurehab.session import start_session

        loaded = _load(profile)
        options = _virtual_options(virtual_minutes, virtual_rate, fault, seed, virtual_extra)

        async def go() -> tuple[SessionStart, dict[str, Any]]:
            async with _sensors(loaded, virtual, out, options) as (bound, backends, shown):
                return await start_session(bound, out, session=session, **backends), shown

        result, shown = _run(go)
        if json_:
            print_json({**result.to_json(), "virtual": shown or None})
        else:
            _show_virtual(shown)
            _show_start(result)
        if not result.complete:
            raise typer.Exit(EXIT_PARTIAL)

    @group.command("sync")
    def sync(
        profile: ProfileArg,
        out: OutOpt = DEFAULT_OUT,
        session: SessionOpt = None,
        exercise: Annotated[
            str | None,
            typer.Option(help="The session's exercise, one of the profile's (default: its first)."),
        ] = None,
        keep_logging: Annotated[
            bool,
            typer.Option(help="Do not stop onboard logging first (the download is then never complete)."),
        ] = False,
        erase: Annotated[bool, typer.Option(help="Erase each log on its sensor once verified.")] = False,
        report: Annotated[
            Path | None,
            typer.Option(help="The report page, FILE.html (default: OUT/reports/SUBJECT-SESSION.html)."),
        ] = None,
        virtual: VirtualOpt = False,
        virtual_minutes: MinutesOpt = 1.0,
        virtual_rate: RateOpt = 100.0,
        virtual_extra: ExtraOpt = 1,
        fault: FaultOpt = None,
        seed: SeedOpt = 0,
        json_: JsonOpt = False,
    ) -> None:
        """Stop logging, download every sensor verified, process and report (exit 3: something missing)."""
        from imurehab.session import sync_session

        if report is not None and report.suffix.lower() not in (".html", ".htm"):
            err_console.print(
                f"[bold red]error:[/] --report: the report is an .html page, not {report.name!r}"
            )
            raise typer.Exit(EXIT_USAGE)
        loaded = _load(profile)
        options = _virtual_options(virtual_minutes, virtual_rate, fault, seed, virtual_extra)
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())

        with Progress(*columns, console=err_console, disable=json_, transient=True) as progress:

            async def go() -> tuple[SessionSync, dict[str, Any]]:
                async with _sensors(loaded, virtual, out, options) as (bound, backends, shown):
                    bars = None if json_ else _Bars(progress, bound)
                    result = await sync_session(
                        bound,
                        out,
                        session=session,
                        exercise=exercise,
                        stop=not keep_logging,
                        erase=erase,
                        report_path=report,
                        progress=None if bars is None else bars.update,
                        on_phase=None if bars is None else bars.phase,
                        **backends,
                    )
                return result, shown

            result, shown = _run(go)
        if json_:
            print_json({**result.to_json(), "virtual": shown or None})
        else:
            _show_virtual(shown)
            _show_sync(result)
        if not result.complete:
            raise typer.Exit(EXIT_PARTIAL)
