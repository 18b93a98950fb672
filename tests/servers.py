"""The one way tests and benches start the app: `streamlit run app.py` headless on a loopback port,
waited for until `/_stcore/health` answers, its output in a log file. Plain Python (no pytest), so
bench scripts use it too.

    with StreamlitServer(log_path, env={"EXPLORER_RUN_STORE": ...}) as server:
        page.goto(server.url)
    server.stop(); server.start()   # a restart on the same port (a replica that comes back)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerDidNotStart(RuntimeError):
    """The app did not answer its health check in time (the message names the log)."""


class StreamlitServer:
    """`streamlit run app.py` from the repository root; `env` is added to this process's environment."""

    def __init__(
        self,
        log: Path,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        port: int | None = None,
        timeout: float = 90,
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(log)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.args = list(args)
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None

    def start(self) -> StreamlitServer:
        """Start it and wait for `/_stcore/health`; ServerDidNotStart (the server stopped) otherwise."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log, "a")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless=true",
                "--server.address=127.0.0.1",
                f"--server.port={self.port}",
                "--browser.gatherUsageStats=false",
                *self.args,
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        log.close()  # the child keeps its own handle
        deadline = time.time() + self.timeout
        while time.time() < deadline and self.proc.poll() is None:
            if self.healthy():
                return self
            time.sleep(0.3)
        self.stop()
        raise ServerDidNotStart(
            f"the Streamlit server did not answer /_stcore/health within {self.timeout:g} s; see {self.log}"
        )

    def healthy(self) -> bool:
        try:
            return urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2).read() == b"ok"
        except OSError:
            return False

    def stop(self, timeout: float = 15) -> None:
        """Terminate it (SIGTERM, then SIGKILL after `timeout` seconds)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> StreamlitServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
