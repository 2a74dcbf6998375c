"""Skipping a test for want of something on this machine, honestly."""
from __future__ import annotations

import os
from typing import NoReturn

import pytest


def skip_outside_ci(reason: str, in_ci: str = "CI must run these tests") -> NoReturn:
    """Skip, saying why. Under ``CI=true`` fail instead, adding ``in_ci``: CI has what these
    tests need, and a check must not quietly stop checking there."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; {in_ci}", pytrace=False)
    pytest.skip(reason)
