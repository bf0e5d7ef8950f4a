"""The README's five-minute tours run as written, command by command, on virtual sensors."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def tour_commands() -> list[list[str]]:
    text = README.read_text()
    tours = text[text.index("## Five-minute tours") : text.index("## Supported sensors")]
    blocks = re.findall(r"```sh\n(.*?)```", tours, flags=re.S)
    return [shlex.split(line) for block in blocks for line in block.splitlines() if line.strip()]


def test_the_tours_name_every_user_and_only_imurehab_commands():
    commands = tour_commands()
    assert commands and all(c[0] == "imurehab" for c in commands)
    verbs = {c[1] for c in commands}
    wanted = {"session", "report", "stream", "sync", "process", "export", "simulate", "load", "compare"}
    assert wanted <= verbs


@pytest.mark.slow
def test_every_tour_command_succeeds_in_order(tmp_path):
    exe = Path(sys.executable).parent / "imurehab"
    for command in tour_commands():
        args = [str(ROOT / a) if a.startswith("examples/") else a for a in command[1:]]
        done = subprocess.run([str(exe), *args], cwd=tmp_path, capture_output=True, text=True, timeout=600)
        # A live stream on a loaded machine may lose a frame in the sensor's own buffer: it says so and
        # exits 3 (partial), as documented; anything else must succeed.
        allowed = (0, 3) if command[1] == "stream" else (0,)
        assert done.returncode in allowed, (command, done.stderr[-3000:])
    assert len(list((tmp_path / "clinic" / "reports").glob("P017-*.html"))) == 2
    assert "MDC" in (tmp_path / "clinic" / "P017-latest.html").read_text()
    assert list((tmp_path / "study-bids").glob("sub-*/**/*_motion.tsv"))
    assert list((tmp_path / "study-opensense").rglob("*.sto"))
    assert (tmp_path / "team-weekly.html").stat().st_size > 0
