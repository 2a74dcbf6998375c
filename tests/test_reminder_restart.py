"""A reminder survives a real process restart and fires exactly once.

Each step is a separate Python process (tests/scripts/reminder_process.py) on
the same SQLite file: one schedules and exits before the reminder is due, the
next starts after it fell due and fires it, the one after that finds nothing.
Between the first two the test waits for the wall clock to pass the due time:
that is the scenario, and APScheduler reads no other clock.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "scripts" / "reminder_process.py"
PROCESS_TIMEOUT = 40.0


def run(url: str, *args: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), url, *args],
        capture_output=True, text=True, timeout=PROCESS_TIMEOUT, cwd=REPO, env=env,
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout.splitlines()


def schedule(url: str, seconds: float, slack: float, grace: int = 3600) -> int:
    """Schedule a reminder ``seconds`` ahead in its own process; return once it is ``slack`` s overdue."""
    (line,) = run(url, "schedule", str(seconds), "--grace", str(grace))
    _, reminder_id, due = line.split()
    overdue_at = datetime.fromisoformat(due).timestamp() + slack
    # No process runs until the reminder is overdue on APScheduler's wall clock: nothing to wait on but it.
    time.sleep(max(0.0, overdue_at - datetime.now(UTC).timestamp()))
    return int(reminder_id)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'coopbot.db'}"


def test_reminder_due_while_the_bot_was_down_fires_once_on_the_next_start(url: str) -> None:
    reminder_id = schedule(url, seconds=2.0, slack=0.3)
    assert run(url, "serve", "--expect", "1") == [f"job reminder:{reminder_id}", f"fired {reminder_id}"]
    assert run(url, "serve", "--quiet", "0.5") == []


def test_reminder_past_the_grace_time_is_recovered_by_the_start_up_rescan(url: str) -> None:
    reminder_id = schedule(url, seconds=1.0, slack=1.5, grace=1)
    # Over a second late: APScheduler drops the stored job (and logs it), nothing fires...
    assert run(url, "serve", "--grace", "1", "--quiet", "0.5") == []
    # ...the reminder is still pending, so the start-up rescan schedules it again, at once.
    assert run(url, "serve", "--grace", "1", "--rescan", "--expect", "1") == [
        f"job reminder:{reminder_id}",
        f"fired {reminder_id}",
    ]
    assert run(url, "serve", "--grace", "1", "--rescan", "--quiet", "0.5") == []
