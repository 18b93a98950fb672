"""Predictive maintenance page in AppTest: sample → train → results in seven tabs; bad uploads → a sentence."""

from __future__ import annotations

import re

import pytest

from engine import maintenance as mt
from tests.conftest import open_app_page


def _open():
    return open_app_page("app_pages/maintenance.py")


def test_sample_trains_and_shows_money_modes_and_the_service_list():
    at = _open()
    assert any("failure mode, never a feature" in c.value for c in at.caption)
    at.number_input(key="mt_max_epochs").set_value(8).run()  # the page is under test (AUPRC 0.59, ROC-AUC 0.96)
    at.button(key="maintenance_train").click().run()
    job = next(iter(at.session_state["_explorer_jobs"].values()))
    assert job.wait(300), "training did not finish"
    at.run(timeout=180)
    assert job.status == "done", job.error
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["AUPRC"]) > 0.2 and float(metrics["ROC-AUC"]) > 0.8
    assert {"Cost per 1,000 runs", "Saving vs no model per 1,000", "Services per 1,000 runs"} <= set(metrics)
    assert [t.label for t in at.tabs][:8] == [
        "Performance",
        "Costs & threshold",
        "Service list",
        "Subgroups",
        "Explanations",
        "What-if",
        "Score new data",
        "Share",
    ]
    verdicts = [i.value for i in at.info]  # the one verdict, first: intervals and the money at the analyst's costs
    assert any("gradient boosting" in v and "95% intervals" in v and "at your costs" in v for v in verdicts), verdicts
    frames = [d.value for d in at.dataframe]
    assert any("failure mode" in f.columns for f in frames)
    assert any("top reasons" in f.columns and "machine" in f.columns for f in frames)
    _what_if_tool_wear_torque_speed(at, job.result)
    # dearer failures move the threshold down; nothing retrains
    before = _threshold(at).value
    at.number_input(key="mt_cost_failure").set_value(200_000.0).run()
    assert _threshold(at).value <= before and len(at.session_state["_explorer_jobs"]) == 1
    assert not at.exception
    # a service capacity: the cheapest threshold within it, said in a sentence with the band it could move in
    line = next(md.value for md in at.markdown if md.value.startswith("**Cheapest threshold**"))
    assert "training runs, each scored by a network trained without it" in line and "within" not in line
    free, services = _threshold(at).value, _services(at)
    capacity = max(1, int(services / 3))
    at.number_input(key="mt_capacity").set_value(capacity).run()
    assert not at.exception and not at.error
    assert _threshold(at).value > free
    capped = _services(at)
    print(f"services per 1,000 runs: {services} free, {capped} within a capacity of {capacity}")
    assert capped <= capacity + 2  # chosen on the training runs: the held-out runs land within about a run of it
    assert capped < services
    line = next(md.value for md in at.markdown if md.value.startswith("**Cheapest threshold**"))
    assert f"within {capacity} service stops per 1,000 runs" in line and "anywhere from" in line
    assert len(at.session_state["_explorer_jobs"]) == 1
    # results by product quality type: every held-out run in one group, flagged at the page's threshold
    at.selectbox(key="mt_subgroup").set_value("Type").run()
    assert not at.exception and len(at.session_state["_explorer_jobs"]) == 1
    shown = next(d.value for d in at.dataframe if "recall (95% interval)" in d.value.columns)
    model = job.result
    # in the sample dictionary's words: the column's description and each code's meaning
    assert set(shown["product quality variant (Type)"]) == {"H = high", "L = low", "M = medium"}
    assert shown["runs"].sum() == len(model.test["y"])
    assert shown["failures"].sum() == model.test["y"].sum()
    assert shown["flagged"].sum() == (model.test[mt.MODEL] >= _threshold(at).value).sum()
    options = next(s for s in at.selectbox if s.key == "mt_subgroup").options
    assert "Machine failure" not in options and "TWF" not in options  # the outcome and failure modes are not groups
    # the report: the money first, then performance, costs, failure modes, the subgroups picked, settings in words
    report = list(at.session_state["_memo_maintenance_report"].values())[-1]
    lead = report.split("class='lead'>")[1].split("</p>")[0]
    assert "per 1,000 runs" in lead and "saving" in lead
    order = [
        report.index(h)
        for h in (
            "Performance on held-out runs",
            "Costs and threshold",
            "Failure modes behind the flagged runs",
            "Results by subgroup: product quality variant (Type)",
        )
    ]
    assert order == sorted(order) and len(re.findall(r"atob\('[A-Za-z0-9+/=]+'\)", report)) == 1  # plotly.js once
    assert "Appendix" in report and f"{_threshold(at).value:.3f}" in report


def _threshold(at):
    return next(s for s in at.slider if s.key and "_thr_" in s.key)


def _services(at) -> float:
    return float(next(m.value for m in at.metric if m.label == "Services per 1,000 runs").replace(",", ""))


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("empty.csv", b"", "is empty"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG image"),
        (
            "no_failures.csv",
            ("Torque,Tool wear,Machine failure\n" + "".join(f"{40 + i % 9},{i},0\n" for i in range(80))).encode(),
            "exactly two",
        ),
        (
            "few_failures.csv",
            (
                "Torque,Tool wear,Machine failure\n" + "".join(f"{40 + i % 9},{i},{int(i < 3)}\n" for i in range(80))
            ).encode(),
            "10 failures",
        ),
    ],
)
def test_bad_uploads_get_a_sentence(name, data, words):
    at = _open()
    at.radio(key="mt_dataset").set_value("Upload my own CSV").run()
    next(u for u in at.get("file_uploader") if u.key == "mt_upload").set_value((name, data, "text/csv")).run()
    assert not at.exception
    assert any(words in e.value for e in at.error), [e.value for e in at.error]


def _what_if_tool_wear_torque_speed(at, model) -> None:
    """The What-if offers tool wear, torque and rotational speed; more tool wear on the run where the model says it
    matters most raises the failure risk shown, by the model's own amount, with the service verdict at the threshold."""
    import pandas as pd

    from tests.conftest import SAMPLES

    df = pd.read_csv(SAMPLES / "ai4i2020_machines_1_7000.csv")
    wear = "Tool wear [min]"
    rows = list(at.selectbox(key="mt_whatif_row").options)
    rows = [int(r.split()[1].replace(",", "")) - 1 for r in rows]  # "row 1,234"
    base = df.loc[rows, model.features]
    worn = base.assign(**{wear: base[wear] + 100})
    pick = rows[int((model.risk(worn) - model.risk(base)).argmax())]  # where the model says the wear matters most
    at.selectbox(key="mt_whatif_row").set_value(pick).run()
    key = f"mt_wi_{pick}"
    inputs = {n.key for n in at.number_input} | {s.key for s in at.selectbox}
    for column in (wear, "Torque [Nm]", "Rotational speed [rpm]"):
        assert f"{key}_{column}" in inputs, column

    def shown() -> tuple[float, float]:
        m = {k.label: float(k.value.rstrip("%")) for k in at.metric if k.label.startswith("Failure risk")}
        return m["Failure risk as recorded"], m["Failure risk with your changes"]

    def risk(row) -> float:
        return 100 * float(model.risk(row.to_frame().T)[0])

    row = df.loc[pick, model.features]
    at.number_input(key=f"{key}_{wear}").set_value(float(row[wear] + 100)).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    recorded, changed = shown()
    older = row.copy()
    older[wear] = row[wear] + 100
    assert recorded == pytest.approx(risk(row), abs=0.05) and changed == pytest.approx(risk(older), abs=0.05)
    assert changed > recorded  # more wear: more risk, as the model says for this run
    line = next(m.value for m in at.markdown if m.value.startswith("At your threshold"))
    threshold = float(line.split("(")[1].split("%")[0])
    assert ("service first" in line.split("with your changes")[1]) == (changed >= threshold - 0.05)
