"""Drive the real bot process through its console adapter: stdin in, stdout out."""
from __future__ import annotations

import os
import pathlib
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from types import MappingProxyType, TracebackType

ROOT = pathlib.Path(__file__).resolve().parents[2]


def write_config(folder: pathlib.Path, *, offsets: tuple[str, ...] = ("24h", "15m"), extra: str = "",
                 settings: Mapping[str, str] = MappingProxyType({})) -> pathlib.Path:
    """A console + SQLite configuration in ``folder``, built on the shipped example; ``settings``
    replace the values of the example's keys ({"remind_before": "2h"}: its first such key)."""
    example = (ROOT / "bot.yaml.example").read_text()
    path = folder / "bot.yaml"
    offsets_yaml = "[" + ", ".join(f'"{o}"' for o in offsets) + "]"
    text = re.sub(r"(?m)^(\s*offsets:).*$", rf"\1 {offsets_yaml}", example, count=1)
    for key, value in settings.items():
        text, found = re.subn(rf"(?m)^(\s*{re.escape(key)}:).*$", lambda m: f"{m[1]} {value}", text, count=1)
        assert found, f"the example has no {key!r} to set"
    text = re.sub(r"(?m)^(\s*url:\s*)\"?sqlite:///[^\s\"]*\"?", rf"\1sqlite:///{folder / 'coopbot.db'}", text, count=1)
    path.write_text(text + extra)
    return path


class ConsoleBot:
    """``coopbot run`` as a subprocess; ``ask`` types a line and waits for a reply matching a pattern."""

    def __init__(self, config: pathlib.Path) -> None:
        self.config = config
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._seen = ""
        self.proc: subprocess.Popen[str] | None = None
        self.stderr_path = config.parent / f"stderr-{time.monotonic_ns()}.log"

    def __enter__(self) -> ConsoleBot:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "-c", str(self.config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True, cwd=ROOT, env=env,
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, line: str) -> None:
        assert self.proc and self.proc.stdin
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, pattern: str, timeout: float = 10.0) -> str:
        """Everything printed up to the first match of ``pattern``; consumed from the buffer."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern, re.DOTALL)
        while not (found := regex.search(self._seen)):
            left = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(0.0, left))
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} within {timeout}s; got:\n{self._seen}\nstderr:\n{self.stderr()}")
            if line is None:
                raise AssertionError(f"bot exited before {pattern!r}; got:\n{self._seen}\nstderr:\n{self.stderr()}")
            self._seen += line
        text, self._seen = self._seen[: found.end()], self._seen[found.end():]
        return text

    def ask(self, line: str, pattern: str, timeout: float = 10.0) -> str:
        self.send(line)
        return self.expect(pattern, timeout)

    def silent_for(self, seconds: float) -> str:
        """What the bot printed in ``seconds`` (for asserting it printed nothing)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self._seen += line
        return self._seen

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def close(self) -> int:
        assert self.proc
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()  # EOF: the console adapter asks the bot to stop
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        assert self.proc
        self.proc.kill()
        self.proc.wait()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.proc and self.proc.poll() is None:
            self.close()
        self._stderr.close()
