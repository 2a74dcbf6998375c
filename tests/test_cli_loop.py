"""Which event loop the bot runs on: uvloop where installed, the standard one on request."""
from __future__ import annotations

import asyncio

import pytest

from bot import cli


def _loop_module_seen(monkeypatch: pytest.MonkeyPatch, setting: str | None) -> str:
    if setting is None:
        monkeypatch.delenv(cli.LOOP_ENV, raising=False)
    else:
        monkeypatch.setenv(cli.LOOP_ENV, setting)
    seen: list[str] = []

    async def main() -> None:
        seen.append(type(asyncio.get_running_loop()).__module__)

    cli._run_loop(main())
    return seen[0]


def test_the_bot_runs_on_uvloop_when_it_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop", reason="uvloop is a dependency on Linux and macOS only")
    assert _loop_module_seen(monkeypatch, None).startswith("uvloop")


def test_coopbot_loop_asyncio_keeps_the_standard_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _loop_module_seen(monkeypatch, "asyncio").startswith("asyncio")
