"""What the network adapters share at start: a login retried until it works, and their tasks.

A platform that cannot be reached is retried with backoff, however long it
takes. A platform that answers 401 or 403 has refused the bot's credentials:
retrying cannot help, so the adapter's login step raises ``SettingRefused``
naming the configuration key, and the login stops. ``start`` waits for the
first attempt's outcome, so a wrong key ends the process before anything else
happens; a refusal first answered later (the server was away at start) stops
the bot through ``stop_for_refusal``.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

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
