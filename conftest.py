"""Doctests of the parts of softmax_pkg that need an optional extra.

``python -m pytest`` collects the package's doctests (``--doctest-modules``). On an install
without an extra, the modules that import it (``softmax_pkg.viz`` needs matplotlib,
``softmax_pkg.benchmark`` scipy) cannot even be imported, and a few examples use a package the
module itself does not (scikit-learn in ``SoftmaxRegression``'s, mpmath in
``softmax_pkg.reference``'s, ipywidgets in ``softmax_pkg.viz``'s). Their doctests are skipped
with the reason and the ``pip install`` that brings it, instead of stopping the run with a
collection error. In CI (``SOFTMAX_BOOK_CI=1``), as in ``tests/conftest.py``, a missing
prerequisite fails instead: CI installs everything and skips nothing.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("SOFTMAX_BOOK_CI") == "1"
PACKAGE = Path(__file__).resolve().parent / "softmax_pkg"

EXTRAS = ("viz", "reference", "benchmark")  # as in pyproject.toml
# Files (or folders) of the package whose import needs a module, and the extra that brings it.
IMPORT_NEEDS = {
    PACKAGE / "viz": ("matplotlib", "viz"),
    PACKAGE / "benchmark.py": ("scipy", "benchmark"),
}
# Docstrings whose examples need a module that importing their own module does not (an extra,
# or for a reference that is no extra of ours, the name pip knows it by).
EXAMPLE_NEEDS = {
    "softmax_pkg.viz": ("ipywidgets", "viz"),
    "softmax_pkg._classifier.SoftmaxRegression": ("sklearn", "scikit-learn"),
    "softmax_pkg.reference.exact": ("mpmath", "reference"),
    "softmax_pkg.reference.ulp_error": ("mpmath", "reference"),
}


def _missing(module: str, extra: str) -> str | None:
    """The reason to skip, or None when ``module`` can be imported."""
    try:
        if importlib.util.find_spec(module) is not None:
            return None
    except (ImportError, ValueError):
        pass
    how = f'pip install "softmax-pkg[{extra}]"' if extra in EXTRAS else f"pip install {extra}"
    return f"prerequisite missing: the Python package {module!r} ({how})"


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(reason + " (tests may not skip in CI)", pytrace=False)
    pytest.skip(reason)


class MissingExtra(pytest.File):
    """Stands in for the doctests of a module that cannot be imported: one item that skips."""

    reason: str

    def collect(self):
        yield _stand_in_item(self)


class MissingExtraItem(pytest.Item):
    reason: str

    def runtest(self) -> None:
        _skip_or_fail(self.reason)

    def reportinfo(self):
        return self.path, None, f"doctests of {self.path.name}"


def _stand_in_item(parent: pytest.Collector) -> MissingExtraItem:
    item = MissingExtraItem.from_parent(parent, name="doctests")
    item.reason = parent.reason
    return item


class MissingExtraDir(pytest.Directory):
    """The same for a whole subpackage, whose collection would import its ``__init__``: a
    stand-in for each of its modules."""

    reason: str

    def collect(self):
        for path in sorted(self.path.glob("*.py")):
            stand_in = MissingExtra.from_parent(self, path=path)
            stand_in.reason = self.reason
            yield stand_in


def _reason_for(path: Path) -> str | None:
    for where, (module, extra) in IMPORT_NEEDS.items():
        if path == where or where in path.parents:
            return _missing(module, extra)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_collect_directory(path: Path, parent):
    collector = yield
    reason = _reason_for(path) if collector is not None else None
    if reason:
        stand_in = MissingExtraDir.from_parent(parent, path=path)
        stand_in.reason = reason
        return stand_in
    return collector


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent):
    collectors = yield
    if file_path.suffix != ".py" or not collectors:
        return collectors
    reason = _reason_for(file_path)
    if reason:
        stand_in = MissingExtra.from_parent(parent, path=file_path)
        stand_in.reason = reason
        return [stand_in]
    # The doctests of a test module import it too: the same treatment as its tests get.
    return [
        _optional_imports(type(c)).from_parent(parent, path=file_path)
        if type(c).__name__ == "DoctestModule" and file_path.name.startswith("test_")
        else c
        for c in collectors
    ]


def _optional_imports(cls: type) -> type:
    """``cls`` with its collection skipped (failed in CI) where an optional import fails."""

    class OptionalImports(cls):
        def _getobj(self):  # pytest imports the module here, for its tests and its doctests
            try:
                return super()._getobj()
            except self.CollectError as exc:
                _skip_if_optional(exc.__cause__)
                raise

    OptionalImports.__name__ = cls.__name__
    return OptionalImports


def _skip_if_optional(exc: BaseException | None) -> None:
    """Skip (fail in CI) if ``exc``, or an exception it was raised from, is the ImportError of
    an optional module."""
    while exc is not None:
        top = (getattr(exc, "name", None) or "").partition(".")[0]
        if isinstance(exc, ImportError) and top in OPTIONAL_MODULES:
            _skip_or_fail(_missing(top, OPTIONAL_MODULES[top]) or str(exc))
        exc = exc.__cause__


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test that needs an optional package at run time (``exact`` needs mpmath) is skipped
    (failed in CI) with the reason, like a test module that imports one at its top."""
    try:
        return (yield)
    except ImportError as exc:
        _skip_if_optional(exc)
        raise


# Third-party modules a test module may import at its top, and how to get each: the extras of
# softmax_pkg, and the references the tests compare with.
OPTIONAL_MODULES = {
    "matplotlib": "viz", "ipywidgets": "viz", "PIL": "viz", "mpmath": "reference",
    "scipy": "benchmark", "sklearn": "scikit-learn", "torch": "torch",
}


def pytest_pycollect_makemodule(module_path: Path, parent):
    if module_path.name.startswith("test_"):
        # A test module whose top-level import of an optional package fails is skipped (failed
        # in CI) with the reason, instead of stopping the run with a collection error.
        return _optional_imports(pytest.Module).from_parent(parent, path=module_path)
    return None


def pytest_runtest_setup(item) -> None:
    need = EXAMPLE_NEEDS.get(item.name) if isinstance(item, pytest.DoctestItem) else None
    if need:
        reason = _missing(*need)
        if reason:
            _skip_or_fail(reason)
