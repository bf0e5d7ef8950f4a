import pickle
from types import MappingProxyType

import pytest

from imurehab.analysis.quality import RepQuality
from imurehab.analysis.summary import SessionSummary


def _instance(cls):
    import dataclasses

    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        kwargs[f.name] = 1.0 if f.type in ("float", float) else 1 if f.type in ("int", int) else "x"
    return cls(**kwargs)


@pytest.mark.parametrize(
    ("cls", "name", "value"),
    [
        (RepQuality, "compensation_deg", {"trunk_lean": 12.5}),
        (SessionSummary, "flags", {"rom-short": (1, 3)}),
    ],
)
def test_read_only_mappings_survive_pickling_as_read_only_views(cls, name, value):
    import dataclasses

    original = dataclasses.replace(_instance(cls), **{name: MappingProxyType(dict(value))})
    restored = pickle.loads(pickle.dumps(original))
    assert restored == original
    assert isinstance(getattr(restored, name), MappingProxyType)
    with pytest.raises(TypeError):
        getattr(restored, name)["new"] = 0  # still read-only


def test_no_process_wide_rule_for_mapping_proxies():
    import imurehab.batch  # noqa: F401  (importing the batch must not teach pickle about proxies)

    with pytest.raises(TypeError):
        pickle.dumps(MappingProxyType({"a": 1}))
