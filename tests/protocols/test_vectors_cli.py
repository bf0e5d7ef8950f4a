"""Every family's vectors decode the same through the library and `imurehab protocol decode --json`,
and every parsed fact named in a vector's `expect` equals the decoder's `info`."""

import json
import math

import pytest
from typer.testing import CliRunner

from imurehab.cli import app
from imurehab.cli.common import json_safe
from imurehab.errors import ProtocolError
from imurehab.protocols import FAMILY_MODULES, decode_packets, load_vectors

runner = CliRunner()


def _vectors():
    out = []
    for family in sorted(FAMILY_MODULES):
        try:
            vectors = load_vectors(family)
        except (ProtocolError, FileNotFoundError):
            continue
        out += [pytest.param(family, v, id=f"{family}-{i}") for i, v in enumerate(vectors)]
    return out


def _packets(vector):
    hexes = vector["hex"] if isinstance(vector["hex"], list) else [vector["hex"]]
    return [bytes.fromhex(h.replace(" ", "")) for h in hexes]


def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize(("family", "vector"), _vectors())
def test_vector_library_and_cli_agree(family, vector):
    packets = _packets(vector)
    settings = vector.get("settings", {})
    result = decode_packets(family, packets, settings)
    # The CLI writes strict JSON: a NaN decoded from raw float bytes is null there.
    lib = json.loads(json.dumps(json_safe(result.to_json()), default=str))
    args = ["protocol", "decode", "--family", family, "--json"]
    for k, v in settings.items():
        args += ["--set", f"{k}={v}"]
    res = runner.invoke(app, [*args, *(p.hex() for p in packets)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == lib
    for key, expected in vector.get("expect", {}).items():
        if key in result.info:
            assert _same(json.loads(json.dumps(result.info[key], default=str)), expected), key


def test_cli_rejects_bad_hex_and_unknown_family():
    assert runner.invoke(app, ["protocol", "decode", "--family", "osp", "zz"]).exit_code == 2
    assert runner.invoke(app, ["protocol", "decode", "--family", "osp", "abc"]).exit_code == 2
    res = runner.invoke(app, ["protocol", "decode", "--family", "nope", "00"])
    assert res.exit_code == 1 and "unknown protocol family" in res.output


def _offline_vectors():
    return [
        pytest.param(v, id=f"polar-pmd-offline-{i}")
        for i, v in enumerate(load_vectors("polar-pmd"))
        if v.get("offline")
    ]


@pytest.mark.parametrize("vector", _offline_vectors())
def test_polar_offline_files_decode_through_the_cli(vector):
    off = vector["offline"]
    data = bytes.fromhex(off["file_hex"].replace(" ", ""))
    settings = {"type": "offline"}
    if "key_hex" in off:
        settings["key"] = off["key_hex"].replace(" ", "")
    lib = json.loads(json.dumps(decode_packets("polar-pmd", [data], settings).to_json(), default=str))
    args = ["protocol", "decode", "--family", "polar-pmd", "--json"]
    args += [x for k, v in settings.items() for x in ("--set", f"{k}={v}")]
    res = runner.invoke(app, [*args, data.hex()])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == lib
    for key, expected in off["expect"].items():
        assert _same(lib["info"][key], expected), key
