"""What the network adapters share at start: a login retried until it works, and their tasks.

A platform that cannot be reached is retried with backoff, however long it
takes. A platform that answers 401 or 403 has refused the bot's credentials:
retrying cannot help, so the adapter's login step raises ``SettingRefused``
naming the configuration key, and the login stops. ``start`` waits for the
first attempt's outcome, so a wrong key ends the process before anything else
happens; a refusal first answered later (the server was away at start) stops
the bot through ``stop_for_refusal``. ``CheckedOutput`` is that start for an
adapter that only sends (Telegram, e-mail): a check of its settings, then ready.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot.adapters.base import OnMessage
from bot.backoff import backoff_delay
from bot.errors import CoopbotError, SettingRefused

log = logging.getLogger(__name__)

T = TypeVar("T")
FIRST_ATTEMPT_TIMEOUT = 30.0  # longer than one request's timeout (15 s)


class FirstAttempt:
    """The outcome of the first login attempt, for ``start`` to wait on."""

    def __init__(self) -> None:
        self._settled = asyncio.Event()
        self._rejected: SettingRefused | None = None

    def settle(self, rejected: SettingRefused | None = None) -> None:
        if not self._settled.is_set():
            self._rejected = rejected
            self._settled.set()

    async def wait(self, timeout: float = FIRST_ATTEMPT_TIMEOUT) -> None:
        """Returns once the first attempt ended (or after ``timeout``); raises if it was refused."""
        try:
            await asyncio.wait_for(self._settled.wait(), timeout)
        except asyncio.TimeoutError:
            return
        if self._rejected is not None:
            raise self._rejected


async def log_in(what: str, step: Callable[[], Awaitable[T]], *, cap: float, first: FirstAttempt | None = None) -> T:
    """``step`` until it succeeds; ``SettingRefused`` from it is raised, anything else retried.

    ``first``, if given, learns how the first attempt ended.
    """
    first = first or FirstAttempt()
    attempt = 0
    while True:
        try:
            result = await step()
        except SettingRefused as refused:
            first.settle(refused)
            raise
        except Exception as err:  # the libraries raise requests' errors and their own: retry them all
            first.settle()
            attempt += 1
            log.warning("%s failed (attempt %d): %s: %s", what, attempt, type(err).__name__, err)
            await asyncio.sleep(backoff_delay(attempt, base=0.5, cap=cap))
        else:
            first.settle()
            return result


def stop_for_refusal(refused: SettingRefused, on_fatal: Callable[[CoopbotError], None] | None) -> None:
    """A refusal answered after ``start`` returned: logged, and the app told to stop with it."""
    log.error("%s", refused)
    if on_fatal is not None:
        on_fatal(refused)


class Background:
    """An adapter's background tasks: started with ``spawn``, all cancelled by ``cancel``."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class CheckedOutput:
    """The start of an adapter that only sends: ``_check`` its settings, retried until the platform answers.

    ``start`` returns once the first check ended (raising ``SettingRefused`` if it was refused); ``ready`` is
    set once a check passed, and ``on_reconnect`` then told, so what waited in the outbox goes out. A
    refusal answered after ``start`` returned stops the bot through ``on_fatal``. ``health`` says
    ``unchecked`` until then, and ``_trouble`` while the platform refuses the bot when sending (a revoked
    token: an admin fixes it, the messages wait). Subclasses call ``super().__init__``, define ``_check``
    and spawn their background tasks in ``_tasks``, which ``stop`` cancels.
    """

    def __init__(self, what: str, max_delay: float, *, unchecked: str) -> None:
        self._what = what
        self._max_delay = max_delay
        self.unchecked = unchecked
        self._tasks = Background()
        self._first = FirstAttempt()
        self.ready = asyncio.Event()
        self.on_fatal: Callable[[CoopbotError], None] | None = None
        self.on_reconnect: Callable[[], None] | None = None
        self._trouble: str | None = None  # the platform refuses the bot when sending: why, until a send works

    async def start(self, on_message: OnMessage) -> None:
        self._tasks.spawn(self._run())
        await self._first.wait()

    async def stop(self) -> None:
        await self._tasks.cancel()

    def health(self) -> str | None:
        return self._trouble or (None if self.ready.is_set() else self.unchecked)

    async def _run(self) -> None:
        try:
            await log_in(self._what, self._check, first=self._first, cap=self._max_delay)
        except SettingRefused as refused:
            stop_for_refusal(refused, self.on_fatal)
            return
        self.ready.set()
        if self.on_reconnect is not None:
            self.on_reconnect()

    async def _check(self) -> None:
        raise NotImplementedError
