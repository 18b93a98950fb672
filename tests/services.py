"""Real services for tests, started by the tests themselves: a throwaway PostgreSQL in a temp
folder and an S3-compatible server (moto) on a free loopback port. Never a system service.

Outside CI a missing PostgreSQL or moto skips the tests that need it, with the reason; under
CI=true it fails them (.ci/run installs PostgreSQL when `initdb` is missing).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port  # noqa: F401  (re-exported: one copy)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(what: str, fix: str) -> None:
    """Skip (fail under CI) because `what` is missing; `fix` says how to get it."""
    reason = f"these tests need {what}: {fix}"
    if in_ci():
        pytest.fail("CI must run these tests, but " + reason, pytrace=False)
    pytest.skip(reason)


def pg_bindir() -> Path | None:
    """Where initdb/pg_ctl are: PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(Path(candidate) / "initdb", os.X_OK):
            return Path(candidate)
    return None


class PostgresServer:
    """initdb + pg_ctl in a temp folder on a free port; trust auth on 127.0.0.1 only."""

    def __init__(self) -> None:
        bindir = pg_bindir()
        if bindir is None:
            require("PostgreSQL's initdb and pg_ctl", "`apt-get install -y postgresql` (.ci/run does)")
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="explorer-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = free_port()
        self.url = f"postgresql://explorer@127.0.0.1:{self.port}/postgres"
        # PostgreSQL refuses to run as root: run it as the `postgres` user (or nobody) then.
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres" if _user_exists("postgres") else "nobody"
            info = pwd.getpwnam(self._user)
            os.chown(self.folder, info.pw_uid, info.pw_gid)

    def _run(self, *args: str, timeout: float = 60) -> None:
        kwargs = {}
        if self._user:
            info = pwd.getpwnam(self._user)
            kwargs = dict(user=info.pw_uid, group=info.pw_gid, extra_groups=[])
        done = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr}\n{done.stdout}\n{log}")

    def init(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data), "-U", "explorer", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def create_database(self) -> str:
        """A fresh empty database; returns its URL."""
        import psycopg

        name = "t_" + os.urandom(6).hex()
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=explorer dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://explorer@127.0.0.1:{self.port}/{name}"

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.init().start()
        yield server
    finally:
        server.cleanup()


S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 API on a free loopback port; yields the endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        require("moto's server (`pip install 'moto[server]'`)", "install the test extras (`make test` does)")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.time() + 20
        while time.time() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        yield endpoint
    finally:
        server.stop()


def make_bucket(endpoint: str, name: str) -> None:
    import boto3

    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=name)
