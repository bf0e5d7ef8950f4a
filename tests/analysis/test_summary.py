import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imurehab.analysis import (
    MEASUREMENT_MDC_SOURCE,
    NORMAL_RANGES,
    RepQuality,
    compare_sessions,
    normal_range,
    summarize_session,
)
from imurehab.errors import DataValidationError
from imurehab.exercises import list_templates, load_template
from tests.strategies import DETERMINISTIC

Z95 = 1.959963984540054


def rq(rep, rom, *, lo=5.0, flags=()):
    return RepQuality(
        rep, 0, 1, 2, 0.0, 4.0, lo, lo + rom, rom, lo + rom, 4.0, 2.0, 2.0, 60.0, -2.3, -6.0, flags=flags
    )


def test_hand_computed_summary():
    reps = [rq(1, 100.0), rq(2, 110.0), rq(3, 120.0)]
    s = summarize_session(reps, rom_uncertainty_deg=[1.0, 2.0, 2.0])
    assert s.n_reps == 3 and s.reps == (1, 2, 3)
    assert s.rom_mean_deg == pytest.approx(110.0)
    assert s.rom_sd_deg == pytest.approx(10.0)
    assert (s.rom_best_deg, s.rom_best_rep) == (120.0, 3)
    assert s.rom_uncertainty_deg == (1.0, 2.0, 2.0)
    # √(u_rms² + SD²/n) with u_rms² = (1 + 4 + 4)/3 = 3
    assert s.rom_mean_uncertainty_deg == pytest.approx(math.sqrt(3.0 + 100.0 / 3.0))
    assert s.norm is None and s.change is None


def test_single_rep_and_empty_sets():
    one = summarize_session([rq(1, 50.0)], rom_uncertainty_deg=2.0)
    assert one.rom_sd_deg is None and one.rom_mean_uncertainty_deg == pytest.approx(2.0)
    empty = summarize_session([], rom_uncertainty_deg=2.0)
    assert empty.n_reps == 0 and empty.rom_mean_deg is None and empty.rom_best_rep is None
    assert empty.text() == "repetitions: 0 reps"
    json.dumps(empty.to_dict())


def test_flags_are_listed_with_their_reps_and_shown_as_ranges():
    flags = {8: ("rom_short",), 9: ("rom_short", "compensation:hip-hike"), 10: ("rom_short",)}
    reps = [rq(i, 100.0, flags=flags.get(i, ())) for i in range(1, 11)]
    s = summarize_session(reps, rom_uncertainty_deg=2.0, template=load_template("squat"), side="right")
    assert dict(s.flags) == {"rom_short": (8, 9, 10), "compensation:hip-hike": (9,)}
    lines = s.text().splitlines()
    assert lines[0] == "squat (right knee): 10 reps"
    assert "rom_short: reps 8–10" in lines
    assert "compensation:hip-hike: rep 9" in lines


def test_rep_ranges_text():
    reps = [rq(i, 100.0, flags=("too_fast",) if i in (1, 2, 3, 5, 7, 8) else ()) for i in range(1, 9)]
    assert "too_fast: reps 1–3, 5, 7, 8" in summarize_session(reps, rom_uncertainty_deg=1.0).text()


def test_rom_is_shown_with_its_uncertainty():
    s = summarize_session([rq(1, 108.0), rq(2, 112.4), rq(3, 104.0)], rom_uncertainty_deg=[2, 2.2, 2])
    text = s.text()
    assert "ROM per rep: 1: 108° ± 2.0°, 2: 112° ± 2.2°, 3: 104° ± 2.0°" in text
    assert "best 112° ± 2.2° (rep 2)" in text
    # a half-degree uncertainty does not read as none
    assert "± 0.5°" in summarize_session([rq(1, 90.0)], rom_uncertainty_deg=0.5).text()


def test_normative_comparison_for_flexion():
    s = summarize_session(
        [rq(1, 100.0), rq(2, 107.0)], rom_uncertainty_deg=2.0, template=load_template("squat")
    )
    assert s.norm is not None
    assert s.norm.normal.normal_deg == 135.0 and "Greene" in s.norm.normal.source
    assert s.norm.reached_deg == pytest.approx(112.0)
    assert s.norm.deficit_deg == pytest.approx(23.0)
    assert s.norm.percent_of_normal == pytest.approx(112.0 / 135.0 * 100.0)
    assert "23° short" in s.text() and "83% of normal" in s.text()


def test_normative_comparison_for_extension_has_no_percent():
    # Seated knee extension: the best rep gets down to 3° of flexion; normal extension is 0°.
    reps = [rq(1, 80.0, lo=8.0), rq(2, 85.0, lo=3.0)]
    s = summarize_session(reps, rom_uncertainty_deg=2.0, template=load_template("seated-knee-extension"))
    assert s.norm is not None and s.norm.normal.motion == "extension"
    assert s.norm.reached_deg == 3.0 and s.norm.deficit_deg == 3.0
    assert s.norm.percent_of_normal is None


def test_every_built_in_template_has_a_norm():
    for name in list_templates():
        t = load_template(name)
        assert normal_range(t.joint, t.dof, t.direction) is not None, name
    assert all(r.source for r in NORMAL_RANGES.values())


def test_change_against_measurement_mdc():
    before = summarize_session([rq(1, 100.0)], rom_uncertainty_deg=2.0)
    after = summarize_session([rq(1, 106.0)], rom_uncertainty_deg=2.0, previous=before)
    c = after.change
    assert c is not None
    assert c.change_deg == pytest.approx(6.0)
    assert c.mdc_deg == pytest.approx(Z95 * math.sqrt(8.0))  # 1.96·√2·2 ≈ 5.54
    assert c.exceeds_mdc and c.mdc_source == MEASUREMENT_MDC_SOURCE
    assert "Weir" in c.mdc_source and "lower bound" in c.mdc_source
    assert "+6°, exceeds the MDC95 of 6°" in after.text()
    small = summarize_session([rq(1, 104.0)], rom_uncertainty_deg=2.0, previous=before)
    assert small.change is not None and not small.change.exceeds_mdc


@pytest.mark.parametrize(("now", "exceeds"), [(110.0, False), (110.001, True), (89.999, True)])
def test_published_mdc_is_strict(now, exceeds):
    before = summarize_session([rq(1, 100.0)], rom_uncertainty_deg=2.0)
    current = summarize_session([rq(1, now)], rom_uncertainty_deg=2.0)
    c = compare_sessions(current, before, mdc_deg=10.0, mdc_source="a published study")
    assert c is not None and c.exceeds_mdc is exceeds and c.mdc_source == "a published study"


def test_mdc_needs_its_source_and_a_sane_value():
    s = summarize_session([rq(1, 100.0)], rom_uncertainty_deg=2.0)
    with pytest.raises(DataValidationError, match="mdc_source"):
        compare_sessions(s, s, mdc_deg=5.0)
    with pytest.raises(DataValidationError, match="mdc_deg"):
        compare_sessions(s, s, mdc_deg=-1.0, mdc_source="x")
    assert compare_sessions(s, summarize_session([], rom_uncertainty_deg=1.0)) is None


@pytest.mark.parametrize("bad", [[1.0, 2.0], -1.0, float("nan"), [1.0, float("inf"), 1.0]])
def test_bad_uncertainties_raise(bad):
    with pytest.raises(DataValidationError, match="uncertaint"):
        summarize_session([rq(1, 1.0), rq(2, 2.0), rq(3, 3.0)], rom_uncertainty_deg=bad)


def test_to_dict_is_json_ready():
    before = summarize_session([rq(1, 100.0)], rom_uncertainty_deg=2.0)
    s = summarize_session(
        [rq(1, 90.0, flags=("rom_short",)), rq(2, 95.0)],
        rom_uncertainty_deg=2.0,
        template=load_template("heel-slide"),
        side="left",
        previous=before,
    )
    d = json.loads(json.dumps(s.to_dict()))
    assert d["flags"] == {"rom_short": [1]}
    assert d["norm"]["normal"]["normal_deg"] == 135.0
    assert d["change"]["change_deg"] == pytest.approx(-7.5)


@given(roms=st.lists(st.floats(1.0, 180.0), min_size=2, max_size=15), u=st.floats(0.0, 10.0))
@DETERMINISTIC
def test_summary_statistics_match_definitions(roms, u):
    s = summarize_session([rq(i + 1, r) for i, r in enumerate(roms)], rom_uncertainty_deg=u)
    mean = sum(roms) / len(roms)
    sd = math.sqrt(sum((r - mean) ** 2 for r in roms) / (len(roms) - 1))
    assert s.rom_mean_deg == pytest.approx(mean)
    assert s.rom_sd_deg == pytest.approx(sd, abs=1e-9)
    assert s.rom_best_deg == max(roms)
    assert s.rom_mean_uncertainty_deg == pytest.approx(math.sqrt(u**2 + sd**2 / len(roms)), abs=1e-9)
    assert s.rom_mean_uncertainty_deg >= u - 1e-12


def test_to_dict_keys_are_the_attributes():
    import dataclasses

    before = summarize_session([rq(1, 100.0)], rom_uncertainty_deg=2.0)
    s = summarize_session(
        [rq(1, 90.0)], rom_uncertainty_deg=2.0, template=load_template("squat"), previous=before
    )
    for obj in (s, s.norm, s.change, s.norm.normal):
        assert set(obj.to_dict()) == {f.name for f in dataclasses.fields(obj)}
