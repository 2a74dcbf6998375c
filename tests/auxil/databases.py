"""Databases for storage tests: a temp SQLite file, and a throw-away PostgreSQL cluster.

The cluster (initdb in a temp dir, loopback, a free port) is started once per
session when PostgreSQL is installed; each test gets a fresh database in it.
Registered for every test module by ``tests/conftest.py``.
"""
from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage import Store
from tests.auxil.skips import skip_outside_ci


# --- a throw-away PostgreSQL cluster ---------------------------------------------------------

def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Base URL of a PostgreSQL server that lives as long as the test session."""
    bindir = _pg_bindir()
    if bindir is None:
        # Justified: these are the SQLite repo tests again on PostgreSQL; Debian's postgresql
        # package is on this project's machines (CI runs them), a bare developer box may lack it.
        skip_outside_ci("PostgreSQL is not installed: no pg_ctl/initdb on PATH or in /usr/lib/postgresql/*/bin")
    try:
        import psycopg  # noqa: F401  (a test extra; only the PostgreSQL runs need it)
    except ImportError:
        skip_outside_ci("psycopg 3 is not installed: pip install 'psycopg[binary]'")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="coopbot-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:  # justified: initdb cannot run as root, and there is no one else to run it as
            skip_outside_ci("running as root and there is no 'postgres' user to run initdb as")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "60", "start")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        if (data / "postmaster.pid").exists():
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


_database_numbers = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'coopbot.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    import psycopg

    name = f"coopbot_test_{os.getpid()}_{next(_database_numbers)}"
    admin = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.migrate()
    yield store
    store.close()
