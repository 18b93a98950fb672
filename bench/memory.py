"""Peak memory of the app server while analysts train, for hosts with a memory cap (Streamlit
Community Cloud: about 2.7 GB per app, README "Streamlit Community Cloud").

The real server (`streamlit run app.py`, headless, on a free loopback port) is driven by headless
Chromium (Playwright, /usr/bin/chromium) as an analyst would: open a page, keep its preselected
sample, press its Train button, wait for the results (the page's "Trained in" line and the end of
the script run, so the SHAP explanations drawn with the results are included). The figure is the
server process's VmHWM (peak resident set, /proc/<pid>/status), read after each scenario:

  idle      a fresh server, the home page open (the baseline every other figure is compared with)
  alone     per page: a fresh server, one session trains
  together  per page: a fresh server, two sessions train at once
  all       one server, one session trains on every page in turn (models stay in its session)
  hostile   (--hostile, instead of the above; issue 23) one server, the Diagnosis page: files made to hurt it
            uploaded in turn — a crafted model file, a gzip and a ZIP that unpack to 300 MB, tables at and just
            over the cell cap — each figure the server's peak above what it held just before that upload
            (VmHWM reset through /proc/<pid>/clear_refs), and its ratio to the upload limit

    python bench/memory.py [--pages diagnosis,fraud,...] [--skip together,all] [--out artifacts/memory.json]
    python bench/memory.py --hostile [--out artifacts/memory-hostile.json]

Prints a table in MB with each figure's ratio to the idle server measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.servers import ServerDidNotStart, StreamlitServer  # noqa: E402  (the one server helper)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CLOUD_LIMIT_MB = 2700  # Community Cloud's documented maximum ("approximately", as of February 2024)


@dataclass(frozen=True)
class PageSpec:
    path: str
    button: str  # the Train button's label on that page


PAGES = {
    "diagnosis": PageSpec("diagnosis", "Train"),
    "fraud": PageSpec("fraud", "Train"),
    "segmentation": PageSpec("segmentation", "Find segments"),
    "forecast": PageSpec("forecast", "Train and backtest"),
    "digits": PageSpec("digits", "Train"),
}


# ----------------------------------------------------------------------------------------- the server
class Server(StreamlitServer):
    """The app on a free loopback port with a throwaway run store (tests/servers.py starts and stops it)."""

    def __init__(self, log: Path):
        self.store = tempfile.mkdtemp(prefix="explorer-bench-runs-")
        super().__init__(log, env={"EXPLORER_RUN_STORE": self.store})
        try:
            self.start()
        except ServerDidNotStart as exc:
            raise SystemExit(str(exc)) from None

    def peak_mb(self) -> float:
        """VmHWM: the most resident memory the server process has held since it started."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc (Linux only)")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc")

    def stop(self, timeout: float = 20) -> None:
        super().stop(timeout)
        shutil.rmtree(self.store, ignore_errors=True)


# ----------------------------------------------------------------------------------------- an analyst
def _idle(page, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    time.sleep(0.5)
    while time.time() < deadline:
        if page.locator('[data-testid="stStatusWidget"]').count() == 0:
            return
        time.sleep(0.3)


def _open(browser, url: str, spec: PageSpec):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(180_000)
    page.goto(f"{url}/{spec.path}")
    page.get_by_text("1 · Data").first.wait_for()
    page.get_by_role("button", name=spec.button, exact=True).wait_for()  # the sample is read and previewed
    _idle(page)
    return ctx, page


TIMEOUT_S = 900.0  # per training, from the click to the results (--timeout)


def _wait_results(page, timeout: float | None = None) -> None:
    timeout = TIMEOUT_S if timeout is None else timeout
    deadline = time.time() + timeout
    while time.time() < deadline:
        if page.get_by_text("Trained in", exact=False).count() > 0:
            _idle(page, timeout=max(10.0, deadline - time.time()))
            if page.get_by_test_id("stException").count():
                raise RuntimeError(page.get_by_test_id("stException").first.inner_text()[:500])
            return
        if page.get_by_test_id("stException").count():
            raise RuntimeError(page.get_by_test_id("stException").first.inner_text()[:500])
        time.sleep(0.5)
    raise TimeoutError(f"no results within {timeout:.0f} s")


def train_together(browser, url: str, spec: PageSpec, sessions: int) -> float:
    """`sessions` analysts open the page, then all press Train; returns seconds until the last has results."""
    opened = [_open(browser, url, spec) for _ in range(sessions)]
    start = time.time()
    for _, page in opened:
        page.get_by_role("button", name=spec.button, exact=True).click()
    for _, page in opened:
        _wait_results(page)
    seconds = time.time() - start
    for ctx, _ in opened:
        ctx.close()
    return seconds


def train_every_page(browser, url: str, specs: list[PageSpec]) -> float:
    """One analyst trains on every page in turn, in one session (the sidebar keeps it)."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(180_000)
    page.goto(url)
    page.get_by_test_id("stApp").wait_for()
    _idle(page)
    start = time.time()
    for spec in specs:
        page.get_by_test_id("stSidebarNavLink").filter(has_text=_title(spec.path)).first.click()
        page.get_by_text("1 · Data").first.wait_for()
        page.get_by_role("button", name=spec.button, exact=True).wait_for()
        _idle(page)
        page.get_by_role("button", name=spec.button, exact=True).click()
        _wait_results(page)
    seconds = time.time() - start
    ctx.close()
    return seconds


def _title(path: str) -> str:
    return {
        "diagnosis": "Diagnosis",
        "fraud": "Fraud detection",
        "segmentation": "Retail segmentation",
        "forecast": "Demand forecast",
        "digits": "Digit recognizer",
    }[path]


# ----------------------------------------------------------------------------------------- hostile files
LIMIT_MB = 200  # .streamlit/config.toml maxUploadSize


def _ones_gz(rows: int, cols: int) -> bytes:
    """rows × cols one-character cells, gzipped: the most cells a CSV can carry per byte."""
    import gzip

    row = (",".join(["1"] * cols) + "\n").encode()
    body = io.BytesIO()
    with gzip.GzipFile(fileobj=body, mode="wb", mtime=0) as fh:
        fh.write((",".join(f"c{j}" for j in range(cols)) + "\n").encode())
        for _ in range(rows):
            fh.write(row)
    return body.getvalue()


def _crafted_model() -> bytes:
    """A real Diagnosis model file whose settings ask for two layers of 12,000 units (the weights as trained)."""
    from engine import artifacts
    from engine import diagnosis as dx
    from engine.data import load_table

    df = load_table(ROOT / "sample_data" / dx.SAMPLE).df
    tensors, meta = artifacts.load_artifact(dx.fit(df, dx.default_columns(df), dx.QUICK).to_bytes(), dx.KIND)
    meta["net"] = {**meta["net"], "hidden": [12_000, 12_000]}
    return artifacts.to_bytes(dx.KIND, tensors, meta)


def hostile(browser, logs: Path, folder: Path) -> list[dict]:
    """Upload each hostile file into the Diagnosis page of one server; the server's peak above its memory just
    before each upload."""
    from engine.data import MAX_CELLS
    from tests.peak import Peak

    cols = 2_000
    at_cap = MAX_CELLS // cols
    files = [  # (what, file name, bytes, uploader label, the words the page must show)
        ("crafted model file", "model.safetensors", _crafted_model(), "Model file", "incomplete or damaged"),
        (
            "gzip bomb 300 MB",
            "bomb.csv.gz",
            (ROOT / "tests/data/bad/diagnosis_gzip_bomb_300mb.csv.gz").read_bytes(),
            "CSV file",
            "unpacks to more than",
        ),
        (
            "ZIP bomb 300 MB",
            "bomb.zip",
            (ROOT / "tests/data/bad/fraud_zip_bomb_300mb.zip").read_bytes(),
            "CSV file",
            "unpacks to more than",
        ),
        ("cells over the cap", "over.csv.gz", _ones_gz(at_cap + 1, cols), "CSV file", "cells, the most this app reads"),
        ("cells at the cap", "at.csv.gz", _ones_gz(at_cap, cols), "CSV file", f"{at_cap:,}"),
    ]
    server = Server(logs / "bench-memory-hostile.log")
    rows = []
    try:
        ctx = browser.new_context(viewport={"width": 1366, "height": 768})
        page = ctx.new_page()
        page.set_default_timeout(600_000)
        _open_diagnosis(page, server.url)
        for what, name, data, label, words in files:
            path = folder / name
            path.write_bytes(data)
            if label == "Model file":
                page.get_by_text("Already have a model file from this page?").click()
            else:
                page.get_by_text("Upload my own CSV").click()
            _idle(page)
            start = time.time()
            with Peak(server.proc.pid) as peak:
                page.get_by_test_id("stFileUploader").filter(visible=True).filter(has_text=label).first.locator(
                    'input[type="file"]'
                ).set_input_files(str(path))
                page.get_by_text(words).first.wait_for()
                _idle(page, timeout=600)
            rows.append(
                dict(
                    file=what,
                    bytes=len(data),
                    peak_growth_mb=round(peak.growth_mb),
                    held_mb=round(peak.held_mb),
                    x_limit=round(peak.growth_mb / LIMIT_MB, 2),
                    seconds=round(time.time() - start, 1),
                )
            )
            r = rows[-1]
            print(
                f"  {what:20s} {len(data) / 1e3:9,.0f} KB  peak +{r['peak_growth_mb']:5,d} MB "
                f"({r['x_limit']:.2f} x the {LIMIT_MB} MB limit)  held +{r['held_mb']:5,d} MB  {r['seconds']:5.1f} s",
                flush=True,
            )
            _open_diagnosis(page, server.url)  # a fresh page run: the next file starts from the sample again
        ctx.close()
    finally:
        server.stop()
    return rows


def _open_diagnosis(page, url: str) -> None:
    page.goto(f"{url}/diagnosis")
    page.get_by_text("1 · Data").first.wait_for()
    _idle(page)


# ----------------------------------------------------------------------------------------- the run
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--skip", default="", help="scenarios to leave out: alone,together,all")
    parser.add_argument("--out", default=str(ROOT / "artifacts" / "memory.json"))
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds one training may take")
    parser.add_argument("--hostile", action="store_true", help="upload hostile files instead of training (issue 23)")
    args = parser.parse_args()
    if args.hostile:
        from playwright.sync_api import sync_playwright

        (ROOT / "artifacts").mkdir(exist_ok=True)
        with sync_playwright() as p, tempfile.TemporaryDirectory() as folder:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            print(f"Server memory for hostile uploads on the Diagnosis page (upload limit {LIMIT_MB} MB):")
            rows = hostile(browser, ROOT / "artifacts", Path(folder))
            browser.close()
        out = Path(args.out if args.out != parser.get_default("out") else ROOT / "artifacts" / "memory-hostile.json")
        out.write_text(json.dumps(dict(limit_mb=LIMIT_MB, rows=rows), indent=2))
        print(f"\nwritten to {out}")
        return
    globals()["TIMEOUT_S"] = args.timeout
    specs = [PAGES[p] for p in args.pages.split(",") if p]
    skip = set(filter(None, args.skip.split(",")))
    logs = ROOT / "artifacts"
    logs.mkdir(exist_ok=True)
    from playwright.sync_api import sync_playwright

    rows: list[dict] = []

    def record(scenario: str, page: str, server: Server, seconds: float | None) -> None:
        rows.append(
            dict(
                scenario=scenario,
                page=page,
                peak_mb=round(server.peak_mb()),
                rss_after_mb=round(server.rss_mb()),
                seconds=None if seconds is None else round(seconds, 1),
            )
        )
        r = rows[-1]
        print(
            f"  {scenario:9s} {page:13s} peak {r['peak_mb']:6,d} MB   now {r['rss_after_mb']:6,d} MB"
            + (f"   {r['seconds']:6.1f} s" if seconds is not None else ""),
            flush=True,
        )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        server = Server(logs / "bench-memory-idle.log")
        try:
            ctx = browser.new_context(viewport={"width": 1366, "height": 768})
            home = ctx.new_page()
            home.goto(server.url)
            home.get_by_test_id("stApp").wait_for()
            _idle(home)
            record("idle", "home", server, None)
            ctx.close()
        finally:
            server.stop()
        for scenario, sessions in (("alone", 1), ("together", 2)):
            if scenario in skip:
                continue
            for spec in specs:
                server = Server(logs / f"bench-memory-{scenario}-{spec.path}.log")
                try:
                    record(scenario, spec.path, server, train_together(browser, server.url, spec, sessions))
                except TimeoutError:  # the peak so far is still a lower bound worth printing
                    record(scenario + "*", spec.path + " (timed out)", server, None)
                finally:
                    server.stop()
        if "all" not in skip:
            server = Server(logs / "bench-memory-all.log")
            try:
                record("all", "every page", server, train_every_page(browser, server.url, specs))
            finally:
                server.stop()
        browser.close()

    idle = rows[0]["peak_mb"]
    print(
        f"\nPeak resident memory of the server (VmHWM), against the idle server ({idle:,} MB) and "
        f"Community Cloud's ~{CLOUD_LIMIT_MB:,} MB:"
    )
    print(f"{'scenario':9s} {'page':13s} {'peak MB':>8s} {'x idle':>7s} {'of limit':>9s} {'seconds':>8s}")
    for r in rows:
        print(
            f"{r['scenario']:9s} {r['page']:13s} {r['peak_mb']:8,d} {r['peak_mb'] / idle:7.2f} "
            f"{r['peak_mb'] / CLOUD_LIMIT_MB:8.0%} {'' if r['seconds'] is None else r['seconds']:>8}"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(dict(limit_mb=CLOUD_LIMIT_MB, rows=rows), indent=2))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
