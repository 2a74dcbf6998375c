"""Run the real bot process from an async test: ``coopbot run -c FILE`` as a subprocess.

Unlike ``console.py`` (threads and blocking queues), everything here awaits, so
a fake server running in the test's own event loop keeps serving while the test
waits on the bot. The bot's log (stderr) is read line by line; ``wait_for_log``
waits for a line matching a pattern, which is how a test learns the port the
bot's HTTP server bound (``server listening on http://127.0.0.1:PORT``).
"""
from __future__ import annotations

import asyncio
import os
import pathlib
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"server listening on (http://\S+)")


def bot_config(folder: pathlib.Path, *, adapters: Mapping[str, Mapping[str, Any]],
               server: bool = False, bot: Mapping[str, Any] | None = None,
               sections: Mapping[str, Mapping[str, Any]] | None = None) -> pathlib.Path:
    """``folder/bot.yaml``: the shipped example with the console off, the given adapters on,
    an SQLite file in ``folder`` and, if ``server``, the HTTP server on a free port;
    ``sections`` update the example's other sections ({"proposals": {"remind_before": "3s"}})."""
    config = yaml.safe_load((ROOT / "bot.yaml.example").read_text())
    config["storage"]["url"] = f"sqlite:///{folder / 'coopbot.db'}"
    config["adapters"] = {"console": {"enabled": False}, **{k: dict(v) for k, v in adapters.items()}}
    config["server"] = {"enabled": server, "host": "127.0.0.1", "port": 0}
    config["bot"].update(bot or {})
    for name, values in (sections or {}).items():
        config[name] = {**(config.get(name) or {}), **values}
    path = folder / "bot.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


class Process:
    """A Python program run from an async test or benchmark, its stderr read line by line.

    ``async with Process([...]) as proc:`` starts it and stops it (SIGTERM).
    """

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                 python: str = sys.executable) -> None:
        self.argv = [python, *argv]
        self._env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._read_upto = 0  # wait_for_log looks at lines from here on
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None
        self._eof = False

    async def start(self) -> Process:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, cwd=ROOT, env=self._env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for raw in self.proc.stderr:
            async with self._changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()
        async with self._changed:
            self._eof = True
            self._changed.notify_all()

    async def wait_for_log(self, pattern: str | re.Pattern[str], timeout: float = 15.0) -> re.Match[str]:
        """The first log line (not yet consumed) matching ``pattern``; lines up to it are consumed."""
        return await self._wait_for_line(pattern, after=None, timeout=timeout)

    async def search_log(self, pattern: str | re.Pattern[str], *, after: int = 0,
                         timeout: float = 15.0) -> re.Match[str]:
        """The first log line from index ``after`` on matching ``pattern``, waiting for it; consumes nothing."""
        return await self._wait_for_line(pattern, after=after, timeout=timeout)

    async def _wait_for_line(self, pattern: str | re.Pattern[str], *, after: int | None,
                             timeout: float) -> re.Match[str]:
        """Wait (on the reader's condition, never polling) for a matching line from index ``after``,
        or, if ``after`` is None, from the first unconsumed line, consuming lines up to the match."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        found: list[re.Match[str]] = []

        def search() -> bool:
            start = self._read_upto if after is None else after
            for index in range(start, len(self.lines)):
                match = regex.search(self.lines[index])
                if match:
                    if after is None:
                        self._read_upto = index + 1
                    found.append(match)
                    return True
            return self._eof

        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(search)
            except TimeoutError:
                raise AssertionError(f"no log line matching {regex.pattern!r} within {timeout}s:\n{self.log()}") from None
        if not found:
            raise AssertionError(f"the bot exited before logging {regex.pattern!r}:\n{self.log()}")
        return found[0]

    async def server_url(self, timeout: float = 15.0) -> str:
        return (await self.wait_for_log(LISTENING, timeout)).group(1)

    def log(self, last: int = 60) -> str:
        return "\n".join(self.lines[-last:])

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def exited(self, timeout: float = 30.0) -> int:
        """Wait for the program to end on its own; its exit code. AssertionError if it does not."""
        assert self.proc is not None
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"still running after {timeout}s:\n{self.log()}") from None
        if self._reader is not None:
            await self._reader
        return code

    async def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        return await self._end(signal.SIGTERM, timeout)

    async def kill(self) -> int:
        """SIGKILL: no clean shutdown, nothing flushed."""
        return await self._end(signal.SIGKILL, 5.0)

    async def _end(self, sig: signal.Signals, timeout: float) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            code = await self.proc.wait()
        if self._reader is not None:
            await self._reader
        return code

    async def __aenter__(self) -> Process:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()


class BotProcess(Process):
    """``coopbot run -c CONFIG``."""

    def __init__(self, config: pathlib.Path, *, env: Mapping[str, str] | None = None) -> None:
        super().__init__(["-m", "bot.cli", "run", "-c", str(config)], env=env)
        self.config = config
