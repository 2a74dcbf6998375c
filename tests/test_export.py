"""``coopbot export decisions``, run as the real command on a real SQLite file, its output parsed back."""
from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from bot.storage import DecisionStatus, Store
from config.loader import load_config
from tests.auxil.console import ROOT, write_config

NOVEMBER = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)
DECEMBER = datetime(2026, 12, 2, 18, 30, tzinfo=timezone.utc)
LINK = "https://chat.example.coop/coops/pl/abc123"


@pytest.fixture
def config(tmp_path: pathlib.Path) -> pathlib.Path:
    """A configuration whose database holds four decisions over two months, one retracted."""
    path = write_config(tmp_path)
    store = Store(load_config(path).storage.url)
    store.migrate()
    with store.unit() as u:
        call = u.calls.add(title="Council", starts_at=NOVEMBER, duration_minutes=60, coops=(), created_by="ana",
                           platform="mattermost", channel_id="c1", now=NOVEMBER)
        where = {"platform": "mattermost", "channel_id": "c1", "channel_name": "council", "by_id": "u1"}
        u.decisions.record(text="We share hosting", tags=("hosting",), call_id=call.id, by="ana", link=LINK,
                           now=NOVEMBER, **where)
        u.decisions.record(text="Budget 2027\n# not a heading\n- not an item", tags=("budget",), call_id=None,
                           by="ben", now=NOVEMBER + timedelta(days=1), **where)
        third = u.decisions.record(text="Join the federation", tags=("hosting", "federation"), call_id=None,
                                   by="caro", now=DECEMBER, **where)
        u.decisions.record(text="Monthly calls @channel", tags=(), call_id=None, by="ana",
                           now=DECEMBER + timedelta(hours=1), **where)
        u.decisions.revise(third.id, text="Join the federation in 2027", by="ben", by_id="u2",
                           now=DECEMBER + timedelta(hours=2))
        u.decisions.revise(third.id, status=DecisionStatus.RETRACTED, by="ana", by_id="u1",
                           now=DECEMBER + timedelta(hours=3))
    store.close()
    return path


def export(config: pathlib.Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "export", "decisions", "-c", str(config), *options],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def sections(markdown: str) -> dict[str, list[str]]:
    """Month heading → the top-level list items under it (continuation lines folded in)."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = found.setdefault(line[3:], [])
        elif line.startswith("- "):
            current.append(line[2:])
        elif line.startswith("  ") and current:
            current[-1] += "\n" + line.strip()
        else:
            assert not line.startswith("#") or line == "# Decisions" or line == "# Decisiones", line
    return found


def test_markdown_has_a_section_per_month_with_who_when_where_and_tags(config: pathlib.Path) -> None:
    done = export(config)
    assert done.returncode == 0, done.stderr
    months = sections(done.stdout)
    assert list(months) == ["November 2026", "December 2026"]
    hosting, budget = months["November 2026"]
    assert hosting.startswith("**Decision 1**: We share hosting\n")
    assert "by ana, Fri 20 Nov 2026, 15:00 UTC (UTC+0), in [council (mattermost)](" + LINK + ")" in hosting
    assert "Call: #1 “Council”" in hosting and "Tags: #hosting" in hosting
    assert budget.startswith("**Decision 2**: Budget 2027\n\\# not a heading\n\\- not an item\n")
    retracted, calls = months["December 2026"]
    assert retracted.startswith("**Decision 3** (retracted): Join the federation in 2027")
    assert "retracted by ana, Wed 2 Dec 2026, 21:30 UTC (UTC+0) (version 3)" in retracted
    assert "Tags: #federation #hosting" in retracted
    assert calls.startswith("**Decision 4**: Monthly calls @channel")  # the wiki does not ping: as written


def test_json_has_every_field_and_the_history(config: pathlib.Path) -> None:
    done = export(config, "--format", "json")
    assert done.returncode == 0, done.stderr
    decisions = json.loads(done.stdout)["decisions"]
    assert [d["id"] for d in decisions] == [1, 2, 3, 4]
    first, third = decisions[0], decisions[2]
    assert first["call"] == {"id": 1, "title": "Council", "starts_at": "2026-11-20T15:00:00+00:00"}
    assert (first["link"], first["channel_name"], first["created_by"], first["tags"]) == (
        LINK, "council", "ana", ["hosting"])
    assert datetime.fromisoformat(first["created_at"]) == NOVEMBER
    assert (third["status"], third["version"], third["text"]) == ("retracted", 3, "Join the federation in 2027")
    assert [(v["version"], v["status"], v["changed_by"]) for v in third["history"]] == [
        (1, "active", "caro"), (2, "active", "ben"), (3, "retracted", "ana")]
    expected_keys = {"id", "text", "status", "version", "call_id", "tags", "platform", "channel_id", "thread_id",
                     "channel_name", "link", "created_by", "created_by_id", "created_at", "updated_at", "call",
                     "history"}
    assert all(set(d) == expected_keys for d in decisions)


def test_since_and_tag_narrow_the_export(config: pathlib.Path) -> None:
    by_tag = json.loads(export(config, "--format", "json", "--tag", "#hosting").stdout)["decisions"]
    assert [d["id"] for d in by_tag] == [1, 3]
    recent = json.loads(export(config, "--format", "json", "--since", "2026-12-01", "--tag", "hosting").stdout)
    assert [d["id"] for d in recent["decisions"]] == [3]
    nothing = export(config, "--tag", "nothing")
    assert nothing.returncode == 0 and nothing.stdout == "# Decisions\n\nNo decisions.\n"


def test_a_spanish_federation_gets_spanish_month_headings(config: pathlib.Path) -> None:
    text = config.read_text()
    config.write_text(re.sub(r"(?m)^(\s*language:).*$", r"\1 es", text, count=1))
    done = export(config)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Decisiones\n")
    assert list(sections(done.stdout)) == ["Noviembre 2026", "Diciembre 2026"]
    assert "**Decisión 3** (retirada)" in done.stdout and "vie 20 nov 2026, 15:00" in done.stdout


@pytest.mark.parametrize(("options", "message"), [
    (("--since", "the dawn of time"), "--since: 'the dawn of time' is not a date"),
    (("--tag", "2x"), "--tag: '2x' is not a tag"),
    (("--format", "pdf"), "invalid choice: 'pdf'"),
])
def test_a_wrong_option_is_named_and_nothing_is_written(config: pathlib.Path, options: tuple[str, ...],
                                                         message: str) -> None:
    done = export(config, *options)
    assert done.returncode == 2 and message in done.stderr and done.stdout == ""
