"""How much memory a piece of work takes at its peak, in one process (ours or the app server's), on Linux.

Writing 5 to /proc/<pid>/clear_refs resets the process's peak resident set (VmHWM) to what it holds now, so the
peak read afterwards is this work's own, however much the process held before (tests and the server have
usually peaked higher already)."""

from __future__ import annotations

from pathlib import Path


def _status(pid: int | str, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/{pid}/status (Linux only)")


class Peak:
    """with Peak(pid) as p: work() — then p.growth_mb is the peak resident memory above the start, in MB."""

    def __init__(self, pid: int | str = "self"):
        self.pid = pid
        self.growth_mb = float("nan")

    def __enter__(self) -> Peak:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        self.start_mb = _status(self.pid, "VmRSS")
        return self

    def __exit__(self, *exc) -> None:
        self.growth_mb = _status(self.pid, "VmHWM") - self.start_mb
        self.held_mb = _status(self.pid, "VmRSS") - self.start_mb
