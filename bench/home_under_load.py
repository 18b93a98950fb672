"""Home page time for a fresh visitor: idle, and while several analysts train (issue 23 item 9).

For each runner asked for, starts `streamlit run app.py` on loopback, then
1. idle: R fresh visitors in turn open the home page (a new browser context each, so a new Streamlit session)
   and the time until "Models train on" is drawn is taken;
2. under load: A analysts open Diagnosis with training that runs for minutes (2,000 epochs, patience 2,000) and
   press Train; once every job trains (or waits for a slot), R fresh visitors open the home page again.
3. the time of one Diagnosis job (page defaults, the sample) on an idle machine through the same runner, warm
   (after one job has started its workers), so a runner that keeps pages responsive but trains slower shows it.
Prints the medians and the ratio under load / idle, per runner, in one run. Bounded: every wait has a timeout,
the analysts' tabs are closed at the end (their jobs are cancelled by the session reaper), the server stopped.

    python bench/home_under_load.py [--analysts 3] [--repeats 3] [--runners local]

Runners are EXPLORER_RUNNER values (local, ray). Needs Chromium at /usr/bin/chromium and playwright.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers import StreamlitServer  # noqa: E402


def _home_seconds(browser, url: str) -> float:
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(180_000)
    start = time.perf_counter()
    try:
        page.goto(url)
        page.get_by_text("Models train on").wait_for()
        return time.perf_counter() - start
    finally:
        ctx.close()


def measure(runner: str, analysts: int, repeats: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    log = ROOT / "artifacts" / f"bench-home-{runner}.log"
    log.unlink(missing_ok=True)
    env = {"EXPLORER_RUNNER": runner, "EXPLORER_SESSION_GRACE_SECONDS": "2"}
    with StreamlitServer(log, env=env, timeout=120) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        _home_seconds(browser, server.url)  # warm-up: the first visit imports torch and the runner starts
        idle = [_home_seconds(browser, server.url) for _ in range(repeats)]
        tabs = []
        for i in range(analysts):
            ctx = browser.new_context(viewport={"width": 1366, "height": 768})
            page = ctx.new_page()
            page.set_default_timeout(180_000)
            page.goto(f"{server.url}/diagnosis?dx_epochs=2000&dx_patience=2000&dx_seed={i}")
            page.get_by_role("button", name="Train").click()
            page.get_by_role("button", name="Cancel training").wait_for()
            tabs.append(ctx)
        time.sleep(3)  # the jobs are under way
        loaded = [_home_seconds(browser, server.url) for _ in range(repeats)]
        for ctx in tabs:
            ctx.close()
        browser.close()
    return {"idle": statistics.median(idle), "loaded": statistics.median(loaded)}


def job_seconds(runner: str, repeats: int) -> float:
    """One Diagnosis job at the page's defaults on the sample, warm, through the runner `runner` names."""
    from engine import diagnosis as dx
    from engine.data import load_table
    from engine.jobs import DONE, JobRunner

    if runner == "processes":
        from engine.process_runner import ProcessRunner

        r = ProcessRunner()
    elif runner == "local":
        from engine.runners import _share_cpu_threads

        r = JobRunner()
        _share_cpu_threads(r.max_workers)  # as the server's default runner does
    else:
        return float("nan")
    df = load_table(ROOT / "sample_data" / "heart_disease_cleveland.csv").df
    columns, config = dx.default_columns(df), dx.DiagnosisConfig()
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        job = r.submit(dx.fit, df, columns, config, name="diagnosis")
        assert job.wait(600) and job.status == DONE, job.error
        if i:  # the first one warms the workers up
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--analysts", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--runners", default="local", help="comma-separated EXPLORER_RUNNER values")
    args = ap.parse_args()
    rows = []
    for runner in args.runners.split(","):
        r = measure(runner.strip(), args.analysts, args.repeats)
        r["job"] = job_seconds(runner.strip(), args.repeats)
        rows.append((runner, r))
        print(
            f"{runner:>8}: home page idle {r['idle']:.2f} s, while {args.analysts} analysts train "
            f"{r['loaded']:.2f} s ({r['loaded'] / r['idle']:.2f}x idle); one Diagnosis job {r['job']:.1f} s",
            flush=True,
        )
    if len(rows) > 1:
        base = rows[0][1]["loaded"]
        for runner, r in rows[1:]:
            print(
                f"{runner} vs {rows[0][0]}: home page under load {r['loaded'] / base:.2f}x, "
                f"job time {r['job'] / rows[0][1]['job']:.2f}x"
            )


if __name__ == "__main__":
    main()
