"""Where the official API descriptions are missing, spec tests skip, except under CI=true."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from tests.spec_check import DISCOURSE, MATTERMOST, specs_dir

ROOT = pathlib.Path(__file__).resolve().parents[1]
SPEC_TESTS = ["tests/test_fake_discourse_spec.py", "tests/test_fake_mattermost.py::test_rest_answer_matches_official_openapi"]


def test_a_configured_folder_is_the_only_place_looked_in(tmp_path: pathlib.Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOPBOT_SPECS_DIR", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="discourse-openapi.json not found"):
        specs_dir(DISCOURSE.filename)
    (tmp_path / MATTERMOST.filename).write_text("openapi: 3.0.0\n")
    assert specs_dir(MATTERMOST.filename) == tmp_path


def test_under_ci_a_missing_description_fails(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOPBOT_SPECS_DIR", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must validate"):
        specs_dir(MATTERMOST.filename)


def _run_spec_tests(specs: pathlib.Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"COOPBOT_SPECS_DIR": str(specs)}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rsf", *SPEC_TESTS],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_a_fresh_clone_skips_the_spec_tests_and_ci_fails_them(tmp_path: pathlib.Path) -> None:
    fresh = _run_spec_tests(tmp_path, None)
    assert fresh.returncode == 0, fresh.stdout[-2000:]
    assert "SKIPPED" in fresh.stdout and "FAILED" not in fresh.stdout
    assert "not found in COOPBOT_SPECS_DIR" in fresh.stdout
    ci = _run_spec_tests(tmp_path, "true")
    assert ci.returncode == 1 and "FAILED" in ci.stdout and "CI must validate" in ci.stdout, ci.stdout[-2000:]
