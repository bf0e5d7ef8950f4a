import json
import re
from pathlib import Path

import pytest

from imurehab.errors import ImurehabError, TemplateError
from imurehab.exercises import (
    DOFS,
    JOINTS,
    POSES,
    REQUIRED_CUES,
    CompensationCheck,
    ExerciseTemplate,
    list_templates,
    load_template,
)

BUILT_IN = [
    "ankle-pumps",
    "elbow-flexion",
    "heel-slide",
    "lumbar-flexion",
    "seated-knee-extension",
    "shoulder-abduction",
    "shoulder-flexion",
    "squat",
    "straight-leg-raise",
]

GOOD = """\
name = "wall-slide"
title = "Wall slide"
description = "Slide the arm up the wall."
source = "clinician-set default"
joint = "shoulder"
dof = "flexion_deg"
pose = "standing"
direction = "increase"
sides = ["right"]

[target]
angle_deg = 120
rom_deg = 90.0
tolerance_deg = 15.0

[tempo]
min_rep_s = 2.0
max_rep_s = 10.0

[cues]
deeper = "Higher"
slower = "Slower"
faster = "Faster"
rep = "Good"
hold = "Hold it"

[[compensation]]
name = "trunk-lean"
joint = "lumbar"
dof = "abduction_deg"
max_change_deg = 10.0
cue = "Stay upright"

[[compensation]]
name = "other-arm"
joint = "shoulder"
side = "other"
dof = "flexion_deg"
max_change_deg = 20
cue = "Keep the other arm down"
"""


def write(tmp_path: Path, text: str, name: str = "t.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_built_in_names():
    assert list_templates() == BUILT_IN


@pytest.mark.parametrize("name", BUILT_IN)
def test_built_in_templates_are_valid_and_sourced(name):
    t = load_template(name)
    assert isinstance(t, ExerciseTemplate)
    assert t.name == name
    assert t.joint in JOINTS and t.dof in DOFS and t.pose in POSES
    assert t.target_deg is not None or t.target_rom_deg is not None
    assert 0 < t.min_rep_s < t.max_rep_s
    assert set(REQUIRED_CUES) <= set(t.cues)
    # ankle-pumps watches none: the ankle's inversion is not measured reliably (its template says why)
    assert t.compensations or name == "ankle-pumps", "every built-in exercise watches a compensation"
    assert "clinician-set default" in t.source
    json.dumps(t.to_dict())
    assert all(hash(c) == hash(c) for c in t.compensations)


def test_built_in_joints_and_directions():
    got = {n: (load_template(n).joint, load_template(n).direction) for n in BUILT_IN}
    assert got == {
        "ankle-pumps": ("ankle", "increase"),
        "elbow-flexion": ("elbow", "increase"),
        "heel-slide": ("knee", "increase"),
        "lumbar-flexion": ("lumbar", "increase"),
        "seated-knee-extension": ("knee", "decrease"),
        "shoulder-abduction": ("shoulder", "increase"),
        "shoulder-flexion": ("shoulder", "increase"),
        "squat": ("knee", "increase"),
        "straight-leg-raise": ("hip", "increase"),
    }
    assert load_template("lumbar-flexion").sides == (None,)
    assert load_template("squat").sides == ("left", "right")
    slr = {c.name: c for c in load_template("straight-leg-raise").compensations}
    assert "hip-hike" in slr and slr["knee-bend"].side == "same"
    assert load_template("shoulder-abduction").compensations[0].name == "trunk-lean"


def test_aaos_targets_are_cited():
    for name in ("seated-knee-extension", "squat", "elbow-flexion", "shoulder-flexion"):
        assert "Greene" in load_template(name).source and "1994" in load_template(name).source


def test_user_file_loads(tmp_path):
    t = load_template(write(tmp_path, GOOD))
    assert t.name == "wall-slide" and t.sides == ("right",)
    assert t.target_deg == 120.0 and isinstance(t.target_deg, float)
    assert t.target_rom_deg == 90.0
    assert t.cues["hold"] == "Hold it"
    assert t.compensations == (
        CompensationCheck("trunk-lean", "lumbar", None, "abduction_deg", 10.0, "Stay upright"),
        CompensationCheck("other-arm", "shoulder", "other", "flexion_deg", 20.0, "Keep the other arm down"),
    )
    assert load_template(str(write(tmp_path, GOOD, "x.toml"))).name == "wall-slide"
    with pytest.raises(TypeError):
        t.cues["rep"] = "changed"  # type: ignore[index]


def test_targets_and_compensations_are_optional(tmp_path):
    text = GOOD.split("[[compensation]]")[0].replace("angle_deg = 120\nrom_deg = 90.0\n", "")
    t = load_template(write(tmp_path, text.replace('sides = ["right"]\n', "")))
    assert t.target_deg is None and t.target_rom_deg is None
    assert t.compensations == () and t.sides == ("left", "right")


def edit(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


BAD = [
    (edit('joint = "shoulder"', 'joint = "wrist"'), "joint", "expected one of"),
    (edit('dof = "flexion_deg"', 'dof = "flexion"'), "dof", "expected one of"),
    (edit('pose = "standing"', 'pose = "prone"'), "pose", "expected one of"),
    (edit('direction = "increase"', 'direction = "up"'), "direction", "expected one of"),
    (edit('title = "Wall slide"\n', ""), "title", "missing"),
    (edit('name = "wall-slide"', 'name = "Wall Slide"'), "name", "kebab-case"),
    (edit('pose = "standing"', 'pose = "standing"\ncolour = "red"'), "colour", "unknown key"),
    (edit("tolerance_deg = 15.0", "tolerance_deg = 15.0\nangle = 3"), "target.angle", "unknown key"),
    (edit("tolerance_deg = 15.0", 'tolerance_deg = "15"'), "target.tolerance_deg", "expected a number"),
    (edit("tolerance_deg = 15.0", "tolerance_deg = true"), "target.tolerance_deg", "expected a number"),
    (edit("tolerance_deg = 15.0", "tolerance_deg = -1"), "target.tolerance_deg", "in [0"),
    (edit("tolerance_deg = 15.0", "tolerance_deg = nan"), "target.tolerance_deg", "expected a number"),
    (edit("max_rep_s = 10.0", "max_rep_s = 1.0"), "tempo.min_rep_s", "less than max_rep_s"),
    (edit("max_rep_s = 10.0", "max_rep_s = 2.0"), "tempo.min_rep_s", "less than max_rep_s"),
    (edit("min_rep_s = 2.0\n", ""), "tempo.min_rep_s", "missing"),
    (edit("[tempo]", "[tempos]"), "tempo", "missing"),
    (edit('rep = "Good"\n', ""), "cues.rep", "missing"),
    (edit('rep = "Good"', "rep = 3"), "cues.rep", "expected non-empty text"),
    (edit('rep = "Good"', 'rep = "  "'), "cues.rep", "expected non-empty text"),
    (edit('hold = "Hold it"', 'Hold = "Hold it"'), "cues.Hold", "kebab-case"),
    (edit('sides = ["right"]', 'sides = ["right", "up"]'), "sides", "distinct"),
    (edit('sides = ["right"]', 'sides = ["right", "right"]'), "sides", "distinct"),
    (edit('sides = ["right"]', "sides = []"), "sides", "distinct"),
    (edit('sides = ["right"]', 'sides = "right"'), "sides", "distinct"),
    (edit('joint = "lumbar"', 'joint = "knee"'), "compensation[1].side", "missing"),
    (edit('joint = "lumbar"', 'joint = "lumbar"\nside = "same"'), "compensation[1].side", "midline"),
    (edit('side = "other"', 'side = "left"'), "compensation[2].side", "expected one of"),
    (edit('name = "other-arm"', 'name = "trunk-lean"'), "compensation[2].name", "two compensation"),
    (edit("max_change_deg = 20", "max_change_deg = 0"), "compensation[2].max_change_deg", "above 0"),
    (edit('cue = "Stay upright"', 'cue = "Stay upright"\nlimit = 3'), "compensation[1].limit", "unknown"),
    (edit('side = "other"', 'side = "same"'), "compensation[2].dof", "very angle"),
    (edit("[target]", "target = 3\n[targets]"), "target", "expected a table"),
]


@pytest.mark.parametrize(("text", "key", "message"), BAD)
def test_bad_templates_name_file_and_key(tmp_path, text, key, message):
    path = write(tmp_path, text)
    with pytest.raises(TemplateError) as info:
        load_template(path)
    err = info.value
    assert err.path == path
    assert err.key == key
    assert message in str(err)
    assert str(path) in str(err) and repr(key) in str(err)
    assert "\n" not in str(err)
    assert isinstance(err, ImurehabError)


def test_midline_exercise_rules(tmp_path):
    base = load_template("lumbar-flexion")
    text = (Path(__file__).parents[2] / "imurehab/exercises/templates/lumbar-flexion.toml").read_text()
    assert base.sides == (None,)
    with pytest.raises(TemplateError, match="midline") as info:
        load_template(
            write(
                tmp_path, text.replace('direction = "increase"', 'direction = "increase"\nsides = ["left"]')
            )
        )
    assert info.value.key == "sides"
    bad = text + '\n[[compensation]]\nname = "knees"\njoint = "knee"\nside = "same"\ndof = "flexion_deg"\n'
    bad += 'max_change_deg = 10.0\ncue = "Keep your knees straight"\n'
    with pytest.raises(TemplateError, match="midline joints") as info:
        load_template(write(tmp_path, bad))
    assert info.value.key == "compensation[3].joint"


def test_file_level_errors(tmp_path):
    with pytest.raises(TemplateError, match="not valid TOML") as info:
        load_template(write(tmp_path, 'name = "x'))
    assert info.value.key is None and info.value.path == tmp_path / "t.toml"
    with pytest.raises(TemplateError, match="file not found"):
        load_template(tmp_path / "missing.toml")
    with pytest.raises(TemplateError, match="no built-in exercise template 'lunge'") as info:
        load_template("lunge")
    assert info.value.path is None
    assert "squat" in str(info.value)


def test_built_in_files_are_tidy():
    folder = Path(__file__).parents[2] / "imurehab/exercises/templates"
    for path in sorted(folder.glob("*.toml")):
        assert re.fullmatch(r"[a-z0-9-]+\.toml", path.name)
        assert load_template(path) == load_template(path.stem)


def test_to_dict_keys_are_the_attributes():
    import dataclasses

    t = load_template("squat")
    for obj in (t, t.compensations[0]):
        assert set(obj.to_dict()) == {f.name for f in dataclasses.fields(obj)}
    assert json.loads(json.dumps(t.to_dict()))["cues"]["rep"] == t.cues["rep"]
