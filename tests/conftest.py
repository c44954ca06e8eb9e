"""Shared test helpers.

Tests that need something outside Python (Chromium, a fresh virtual environment, PyTorch) call
:func:`need`. On a developer's laptop a missing prerequisite skips the test; in CI
(``SOFTMAX_BOOK_CI=1``, set by ``.ci/run``) it fails it, so CI can never go green by skipping.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("SOFTMAX_BOOK_CI") == "1"


def need(available: bool, what: str) -> None:
    """Skip (locally) or fail (in CI) unless ``available``; ``what`` names the prerequisite."""
    if available:
        return
    message = f"prerequisite missing: {what}"
    if IN_CI:
        pytest.fail(message + " (tests may not skip in CI)", pytrace=False)
    pytest.skip(message)


def import_or_need(module: str):
    """Import ``module``, or skip locally / fail in CI if it is not installed."""
    try:
        return __import__(module)
    except ImportError:
        need(False, f"the Python package {module!r}")
