"""Where a Mattermost command's time goes, from a cProfile of the bot process.

    COOPBOT_PROFILE=/tmp/p/time.prof coopbot run -c bot.yaml    # or: mattermost_latency.py --profile /tmp/p
    .venv/bin/python bench/profile_stages.py /tmp/p/time.prof

Prints, per stage of the hot path, the time inside it (cumulative, so a stage
includes what it calls; the rows nest as indented) per command, in µs under
cProfile (which inflates Python-heavy stages more than I/O). Commands are
counted as calls of ``Dispatcher.dispatch``.
"""
from __future__ import annotations

import argparse
import pstats
from typing import Any

# (label, file suffix, function name, depth) in hot-path order.
STAGES = [
    ("websocket library: frames off the socket", "websockets/asyncio/connection.py", "data_received", 0),
    ("websocket frame: handed to the adapter", "mattermost_socket.py", "_deliver", 0),
    ("  parse_frame (json + typed post)", "mattermost_events.py", "parse_frame", 1),
    ("adapter: handle one post", "mattermost.py", "_handle_post", 0),
    ("  sender profile (cached)", "mattermost.py", "get", 1),
    ("  Dispatcher.handle", "dispatch.py", "handle", 1),
    ("    dispatch (one transaction)", "dispatch.py", "dispatch", 2),
    ("      router.route", "router.py", "route", 3),
    ("      Store.unit: begin + commit (also mark_sent's)", "store.py", "unit", 3),
    ("      inbox.claim", "inbox.py", "claim", 3),
    ("      context (sender's prefs)", "dispatch.py", "_context", 3),
    ("      handler: !help", "help.py", "help_", 3),
    ("      handler: !time (parse + zones)", "time.py", "time_", 3),
    ("      reply rendering", "rendering.py", "render", 3),
    ("      outbox.enqueue", "outbox.py", "enqueue", 3),
    ("    Delivery.send → HTTP POST /posts", "http.py", "request", 2),
    ("    log line 'handled in'", "__init__.py", "info", 2),
    ("mark_sent (batched flush)", "delivery.py", "flush_sent", 0),
    ("SQLAlchemy execute (all)", "base.py", "execute", 0),
]


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> tuple[float, int]:
    """Total cumulative seconds and primitive calls of every function ``name`` in a file ending ``suffix``."""
    seconds, calls = 0.0, 0
    table: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (primitive, _, _, cum, _) in table.items():
        if function == name and filename.endswith(suffix):
            seconds += cum
            calls += primitive
    return seconds, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile")
    args = parser.parse_args()
    stats = pstats.Stats(args.profile)
    commands = cumulative(stats, "dispatch.py", "dispatch")[1] or 1
    print(f"{commands} commands; µs per command under cProfile (cumulative)")
    print("| stage | µs/command | calls/command |")
    print("|---|---|---|")
    for label, suffix, name, _ in STAGES:
        seconds, calls = cumulative(stats, suffix, name)
        print(f"| {label} | {seconds / commands * 1e6:.0f} | {calls / commands:.1f} |")


if __name__ == "__main__":
    main()
