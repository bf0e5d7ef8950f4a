"""Live cues for ``imurehab stream --exercise``: a feedback engine fed from the stream's consumer task."""

from __future__ import annotations

from typing import Any

import typer

from imurehab.cli.common import err_console, key_value, print_json

__all__ = ["LiveCues"]


class LiveCues:
    """Live cues for ``stream --exercise``: a feedback engine fed from the stream's consumer task."""

    def __init__(self, exercise: str, places: list[str], side: str | None, json_: bool) -> None:
        from imurehab.exercises import load_template
        from imurehab.feedback import required_segments

        self.template = load_template(exercise)
        # A joint without a live model (the ankle) is refused before anything connects.
        required_segments(self.template, side or self.template.sides[0])
        self.places = {k.upper(): v for k, v in key_value(places, "--place").items()}
        self.side, self.json = side, json_
        self.engine: Any = None
        self.events = 0

    def virtual(self, sensors: int, movement: str | None) -> tuple[int, str]:
        """Sensors and movement of a virtual scenario that can show this exercise."""
        from imurehab.feedback import required_segments
        from imurehab.simulate import MOVEMENTS
        from imurehab.virtual.scenario import PLACEMENTS

        movement = movement or self.template.name
        if movement not in MOVEMENTS:
            raise typer.BadParameter(f"no simulated movement {movement!r}", param_hint="--virtual-movement")
        side = self.side or ("right" if "right" in self.template.sides else self.template.sides[0])
        need = [PLACEMENTS.index(seg) + 1 for seg in required_segments(self.template, side)]
        return max(sensors, *need), movement

    def start(self, placements: dict[str, str], rate_hz: float | None) -> None:
        """Bind the engine to ``placements`` (address or serial → segment); fails early on a bad setup."""
        from imurehab.feedback import FeedbackEngine

        self.places = {**{k.upper(): v for k, v in placements.items()}, **self.places}
        # Checked now so that a bad placement is a usage error before anything connects.
        FeedbackEngine(self.template, self.places, rate_hz or 100.0, side=self.side)
        self._rate = rate_hz

    def on_samples(self, live: Any) -> None:
        """Consumer-task callback of :func:`imurehab.ble.stream`: feed the engine, show its events."""
        if self.engine is None:
            import numpy as np

            from imurehab.feedback import FeedbackEngine

            rate = self._rate
            if rate is None and len(live.device_time_us) > 1:
                rate = 1e6 / float(np.median(np.diff(live.device_time_us)))
            if rate is None:
                return
            self.engine = FeedbackEngine(self.template, self.places, rate, side=self.side)
        key = live.address.upper() if live.address.upper() in self.places else live.sensor_id.upper()
        for event in self.engine.push(key, live.time_us, live.acc, live.gyr):
            self.events += 1
            self.show(event)

    def show(self, event: Any) -> None:
        """One event: a line on stderr, and with ``--json`` one JSON document on stdout."""
        if self.json:
            print_json(event.to_json())
        style = {"rep": "bold green", "ready": "bold", "calibrating": "cyan"}.get(event.kind, "bold yellow")
        detail = ""
        if event.kind == "rep":
            v = event.values
            detail = f"  ({v['duration_s']:.1f} s, peak {v['peak_deg']:.0f}°{', ' if v['flags'] else ''}"
            detail += f"{', '.join(v['flags'])})"
        err_console.print(f"[{style}]{event.kind:>12}[/]  {event.text}{detail}", highlight=False)

    def summary(self) -> dict[str, Any]:
        """What the final report adds under ``feedback``."""
        e = self.engine
        return {
            "exercise": self.template.name,
            "side": None if e is None else e.side,
            "stage": "static" if e is None else e.stage,
            "reps": 0 if e is None else e.reps,
            "events": self.events,
        }
