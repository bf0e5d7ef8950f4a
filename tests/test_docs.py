"""Documentation cannot rot: docstring examples run, and every public name is documented."""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import imurehab

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(imurehab.__path__, "imurehab.") if ".cli" not in m.name
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_public_names_are_documented(name):
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    for attr in getattr(module, "__all__", []):
        obj = getattr(module, attr)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"{name}.{attr} has no docstring"
            if inspect.isfunction(obj) and inspect.signature(obj).parameters:
                doc = inspect.getdoc(obj) or ""
                assert "Parameters" in doc or "as for" in doc.lower() or "as in" in doc.lower(), (
                    f"{name}.{attr} does not document its parameters"
                )
