"""Fraud page in AppTest: sample → train → costs → threshold → flagged list; unlabelled mode; bad uploads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import HAS_SHAP, ROOT, SAMPLES
from tests.pages.shap_views import check_dependence
from tests.pages.sharing import create_share_link

APP = str(ROOT / "app.py")


def _open() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("app_pages/fraud.py").run()
    assert not at.exception
    return at


def _train(at: AppTest):
    at.button(key="fraud_train").click().run()
    jobs = list(at.session_state["_explorer_jobs"].values())
    assert len(jobs) == 1
    assert jobs[0].wait(180)
    at.run()
    return jobs[0]


def _uploader(at: AppTest, key: str):
    return next(u for u in at.get("file_uploader") if u.key == key)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _threshold_slider(at: AppTest):
    return next(s for s in at.slider if s.key and "_thr_" in s.key)


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("%", ""))


def _check_what_if(at: AppTest, model) -> None:
    """The What-if tab: the most suspicious transaction, its strongest reason set back to the training median → the
    score falls as the model's own explanation says it should, and the page shows the model's own new score, the
    verdict at the threshold, and the reasons before and after."""
    df = pd.read_csv(SAMPLES / "creditcard_transactions.csv")
    rows = list(at.selectbox(key="fr_whatif_row").options)
    assert len(rows) >= 20
    rows = [int(r.split()[1].replace(",", "")) - 1 for r in rows]  # "row 1,234 · fraud score 0.987"
    scores = model.scores(df.loc[rows, model.features])
    assert list(scores) == sorted(scores, reverse=True)  # the most suspicious first
    pick = rows[int(np.argmin(np.abs(scores - 0.5)))]  # off the flat ends of the score, where changes show
    at.selectbox(key="fr_whatif_row").set_value(pick).run()
    base = df.loc[pick, model.features]
    key = f"fr_wi_{pick}"
    label = model.score_name.capitalize()

    def shown() -> tuple[float, float]:
        m = {k.label: _number(k.value) for k in at.metric if k.label.startswith(label)}
        return m[f"{label} as recorded"], m[f"{label} with your changes"]

    def score(row) -> float:
        return 100 * float(model.scores(row.to_frame().T)[0])

    before, same = shown()
    assert before == pytest.approx(score(base), abs=0.05) and same == before
    contrib = model.explain(base.to_frame().T).row(0)
    column = contrib.loc[contrib["contribution"] > 0, "column"].iloc[0]  # what pushes this one up the most
    typical = base.copy()
    typical[column] = next(p.median for p in model.preprocessor.plans_ if p.name == column)
    at.number_input(key=f"{key}_{column}").set_value(float(typical[column])).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    recorded, changed = shown()
    assert changed == pytest.approx(score(typical), abs=0.05)
    assert changed < recorded, (column, recorded, changed)  # its push up is gone: the score falls
    threshold = float(
        next(md.value for md in at.markdown if md.value.startswith("At your threshold")).split("(")[1].split(")")[0]
    )
    line = next(md.value for md in at.markdown if md.value.startswith("At your threshold"))
    flagged_after = "not flagged" not in line.split("with your changes")[1]
    assert flagged_after == (changed / 100 >= threshold)
    assert any(md.value.startswith("**Reasons with your changes:**") for md in at.markdown)


def test_sample_train_costs_threshold_and_flagged_list():
    at = _open()
    assert any("16.8%" in i.value and "0.17%" in i.value for i in at.info)
    at.number_input(key="fr_epochs").set_value(10).run()  # wiring, not quality: the AUPRC floor holds at 10 (0.906)
    job = _train(at)
    assert job.status == "done", job.error
    assert not at.exception and not at.error
    m = _metrics(at)
    assert _number(m["AUPRC"]) >= 0.88
    assert {
        "ROC-AUC",
        "Precision",
        "Recall",
        "F1",
        "Cost per 1,000 transactions",
        "Saving vs no model per 1,000",
        "Alerts per 1,000 transactions",
    } <= set(m)
    # money in plain numbers until the analyst picks a currency (sidebar), then in that currency everywhere
    assert _number(m["Cost per 1,000 transactions"]) >= 0 and "€" not in m["Cost per 1,000 transactions"]
    at.selectbox(key="explorer_currency").set_value("€").run()
    m = _metrics(at)
    assert m["Cost per 1,000 transactions"].startswith("€") and m["Saving vs no model per 1,000"].lstrip(
        "-"
    ).startswith("€")
    assert at.number_input(key="fr_fa").label.endswith("(in €)")
    assert any("€" in c.value and "in total" in c.value for c in at.caption)  # a total says it is one
    report = list(at.session_state["_memo_fraud_report"].values())[-1]  # the newest: made with the currency
    lead = report.split("class='lead'>")[1]
    assert "per 1,000 transactions" in lead and "€" in lead  # the report opens with the money, in euros
    assert "Threshold" in report and "chosen from costs" in report and "a false alarm €5" in report  # appendix in words
    at.selectbox(key="explorer_currency").set_value("").run()
    assert [t.label for t in at.tabs] == [
        "Performance",
        "Cost & threshold",
        "Flagged transactions",
        "Subgroups",
        "Explanations",
        "What-if",
        "Score new data",
        "Share",
    ]
    # results by amount band: every held-out transaction in one band, flagged at the page's threshold
    at.selectbox(key="fr_subgroup").set_value("Amount").run()
    assert not at.exception and not at.error
    shown = next(d.value for d in at.dataframe if "recall (95% interval)" in d.value.columns)
    model = job.result
    assert len(shown) == 4 and shown["transactions"].sum() == len(model.test["y"])
    assert shown["frauds"].sum() == model.test["y"].sum()
    assert shown["flagged"].sum() == (model.test[model.model_name] >= _threshold_slider(at).value).sum()
    assert "Class" not in next(s for s in at.selectbox if s.key == "fr_subgroup").options
    assert len(at.get("plotly_chart")) >= (8 if HAS_SHAP else 6)  # PR, ROC, histogram, loss, cost, confusion, SHAP
    assert any("What the labels buy" in i.value for i in at.info)
    assert any("flagged held-out transactions" in md.value for md in at.markdown)
    if HAS_SHAP:
        assert any(md.value.startswith("**Why it was flagged:**") and "(" in md.value for md in at.markdown)
        _check_what_if(at, job.result)
        exp = list(at.session_state["_memo_fr_explain"].values())[-1]  # the held-out transactions the tab explains
        check_dependence(at, "fr_shap", exp)

    # dearer false alarms: a new cheapest threshold, fewer alerts, and no retraining
    best = _threshold_slider(at).value
    alerts = _number(m["Alerts per 1,000 transactions"])
    at.number_input(key="fr_fa").set_value(200.0).run()
    assert not at.exception and not at.error
    assert _threshold_slider(at).value >= best
    assert _number(_metrics(at)["Alerts per 1,000 transactions"]) <= alerts
    # a fixed cost of a missed fraud instead of the amount; when missing one costs nothing, flag nothing
    at.radio(key="fr_how").set_value("a fixed amount").run()
    at.number_input(key="fr_miss").set_value(0.0).run()
    assert not at.exception and not at.error
    chosen_on = job.result.folds or job.result.val
    assert _threshold_slider(at).value >= chosen_on[job.result.model_name].max()  # above every score it was chosen on
    at.number_input(key="fr_miss").set_value(1000.0).run()
    assert not at.exception
    # chosen on every training row, with the band it could move in
    line = next(md.value for md in at.markdown if md.value.startswith("**Cheapest threshold**"))
    assert "training transactions, each scored by a network trained without it" in line and "anywhere from" in line
    # a review capacity: the cheapest threshold that keeps the alerts within it
    free, free_alerts = _threshold_slider(at).value, _number(_metrics(at)["Alerts per 1,000 transactions"])
    capacity = next(n for n in at.number_input if n.key and n.key.endswith("_capacity"))
    capacity.set_value(max(5, int(free_alerts / 3))).run()
    assert not at.exception and not at.error
    assert _threshold_slider(at).value > free
    assert _number(_metrics(at)["Alerts per 1,000 transactions"]) < free_alerts
    assert "within" in next(md.value for md in at.markdown if md.value.startswith("**Cheapest threshold**"))
    # the analyst moves the threshold by hand
    at = _threshold_slider(at).set_value(0.999).run()
    assert _number(_metrics(at)["Alerts per 1,000 transactions"]) < alerts
    assert len(at.session_state["_explorer_jobs"]) == 1
    assert "fraud_train" not in [b.key for b in at.button]

    # the share link, once created, reopens the run for someone else, without training
    run_id = create_share_link(at, "fraud")
    other = AppTest.from_file(APP, default_timeout=90)
    other.run()
    other.switch_page("app_pages/fraud.py")
    other.query_params["run"] = run_id
    other.run()
    assert not other.exception and not other.error
    assert _metrics(other)["AUPRC"] == m["AUPRC"]
    assert any("shared run" in md.value for md in other.markdown)
    assert not other.session_state["_explorer_jobs"] if "_explorer_jobs" in other.session_state else True

    # the downloaded model file scores new transactions on the page, no training
    model_file = job.result.to_bytes()
    third = _open()
    _uploader(third, "fr_model_upload").set_value(
        ("fraud_model.safetensors", model_file, "application/octet-stream")
    ).run()
    assert not third.exception and not third.error
    new = (SAMPLES / "creditcard_transactions.csv").read_bytes()
    _uploader(third, "fr_file_score_upload").set_value(("new.csv", new, "text/csv")).run()
    assert not third.exception and not third.error
    assert any("Scored 1,774 rows" in s.value for s in third.success)


def test_without_a_label_the_autoencoder_flags_unusual_rows():
    at = _open()
    fp_key = next(s.key for s in at.selectbox if s.key and s.key.startswith("fr_label_"))
    at.selectbox(key=fp_key).set_value("(no label: find unusual transactions)").run()
    at.number_input(key="fr_epochs").set_value(30).run()
    job = _train(at)
    assert job.status == "done", job.error
    assert not at.exception and not at.error
    assert [t.label for t in at.tabs] == [
        "Scores",
        "Flagged transactions",
        "Explanations",
        "What-if",
        "Score new data",
        "Share",
    ]
    assert any(s.key and s.key.endswith("_budget") for s in at.slider)
    assert any("flagged transactions in your file" in md.value for md in at.markdown)
    assert any("Without a label the what-if moves the anomaly score" in c.value for c in at.caption)
    _check_what_if(at, job.result)


def _csv(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def _table(
    n: int = 120, label=lambda i: int(i % 6 == 0), amount=lambda i: f"{10 + i:.2f}", when=lambda i: str(60 * i)
) -> bytes:
    return _csv(
        ["v1,v2,amount,date,is_fraud"]
        + [f"{(i * 7) % 11},{(i * 3) % 5},{amount(i)},{when(i)},{label(i)}" for i in range(n)]
    )


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG image"),
        ("three.csv", _table(label=lambda i: i % 3), "it must have exactly two"),
        ("none.csv", _table(label=lambda i: 0), "No row of 'is_fraud' is marked as fraud"),
        ("all.csv", _table(label=lambda i: 1), "Every row of 'is_fraud' is marked as fraud"),
        (
            "text_amount.csv",
            _table(amount=lambda i: "12 EUR" if i == 5 else f"{i}.5"),
            "should hold numbers but has text such as '12 EUR'",
        ),
        ("refund.csv", _table(amount=lambda i: f"{-i}.5" if i == 9 else f"{i}.5"), "negative value"),
        (
            "bad_time.csv",
            _table(when=lambda i: "soon" if i == 4 else f"2024-01-01 {i % 24:02d}:00"),
            "not dates or times, such as 'soon'",
        ),
        ("tiny.csv", _table(n=30), "at least 50 transactions"),
    ],
)
def test_bad_uploads_get_a_sentence(name, data, words):
    at = _open()
    at.radio(key="fr_dataset").set_value("Upload my own CSV").run()
    _uploader(at, "fr_upload").set_value((name, data, "text/csv")).run()
    assert not at.exception
    assert any(words in e.value for e in at.error), [e.value for e in at.error]
    assert "fraud_train" not in [b.key for b in at.button]
