"""A throwaway PostgreSQL server for tests: initdb + pg_ctl in a temporary folder, unix socket only (fsync off)."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa

# PostgreSQL server ---------------------------------------------------------------------------------------------------

def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """initdb + pg_ctl in a temporary folder; as root, the server runs as user postgres (or nobody) via runuser."""

    def __init__(self) -> None:
        self.skip_reason: str | None = None
        self.root: str | None = None
        self.counter = itertools.count()
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not (initdb and pg_ctl):
            self.skip_reason = "PostgreSQL binaries initdb/pg_ctl not found (PATH, /usr/lib/postgresql/*/bin)"
            return
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            self.skip_reason = f"psycopg is not installed ({exc})"
            return
        prefix: list[str] = []
        self.root = tempfile.mkdtemp(prefix="smpg-")  # short: unix socket paths are limited to ~100 characters
        if os.geteuid() == 0:  # initdb refuses to run as root
            user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
            runuser = shutil.which("runuser")
            if user is None or runuser is None:
                self.skip_reason = "running as root and no runuser or no user postgres/nobody to run PostgreSQL as"
                return
            entry = pwd.getpwnam(user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            os.chmod(self.root, 0o755)
            prefix = [runuser, "-u", user, "--"]
        self.port = _free_port()
        data, log = f"{self.root}/data", f"{self.root}/server.log"
        options = (f"-p {self.port} -k {self.root} -c listen_addresses='' -c fsync=off -c full_page_writes=off "
                   "-c max_connections=50")
        steps = [[*prefix, initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync"],
                 [*prefix, pg_ctl, "-D", data, "-o", options, "-l", log, "-w", "-t", "30", "start"]]
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True, cwd=self.root)
            if result.returncode != 0:
                tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
                if Path(log).is_file():
                    tail += Path(log).read_text(errors="replace").strip().splitlines()[-3:]
                self.skip_reason = f"PostgreSQL server did not start: {Path(step[len(prefix)]).name} failed: " + \
                    " | ".join(tail)
                return
        self.stop_command = [*prefix, pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"]
        self.base = f"postgresql+psycopg://postgres@/{{}}?host={self.root}&port={self.port}"

    def new_database(self) -> str:
        name = f"t{os.getpid()}_{next(self.counter)}"
        engine = sa.create_engine(self.base.format("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        engine.dispose()
        return self.base.format(name)

    def stop(self) -> None:
        if self.skip_reason is None:
            subprocess.run(self.stop_command, capture_output=True)
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


