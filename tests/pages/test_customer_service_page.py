"""Customer service page in AppTest: sample → train → the decision, a message explained, a what-if edit that moves
the answer, costs that move the threshold without retraining, a share link reopened; bad uploads → a sentence."""

from __future__ import annotations

import html
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, open_app_page
from tests.pages.sharing import create_share_link

APP = str(ROOT / "app.py")
PAGE = "app_pages/customer_service.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _threshold(at):
    return next(s for s in at.slider if s.key and "_thr_" in s.key)


def test_sample_trains_routes_explains_and_shares():
    at = open_app_page(PAGE)
    assert any("message: the longest free text" in c.value for c in at.caption)
    at.number_input(key="cs_max_epochs").set_value(6).run()  # a short run: the page, not the model, is under test
    at.number_input(key="cs_threshold_folds").set_value(2).run()
    at.number_input(key="cs_members").set_value(1).run()
    at.button(key="customer_service_train").click().run()
    job = next(iter(at.session_state["_explorer_jobs"].values()))
    assert job.wait(600), "training did not finish"
    at.run(timeout=180)
    assert job.status == "done", job.error
    assert not at.exception and not at.error, [e.value for e in at.error]
    m = _metrics(at)
    assert float(m["Accuracy"]) > 0.3 and {
        "Routed automatically",
        "Accuracy of those",
        "Cost per 1,000 messages",
    } <= set(m)
    assert [t.label for t in at.tabs][:7] == [
        "Performance",
        "What to automate",
        "Explanations",
        "What-if",
        "Score new data",
        "Subgroups",
        "Share",
    ]
    verdicts = [w.value for w in at.warning] + [s.value for s in at.success]
    assert any("linear SVM" in v for v in verdicts)
    assert any("New topics" in md.value for md in at.markdown)

    # a message explained: highlighted as escaped text, the words' pushes adding up to the lead
    assert any("<span style='background" in h.proto.body for h in at.get("html"))
    # the what-if: a new message moves the intent and the route
    before = m["Intent"]
    box = next(t for t in at.text_area if t.key and t.key.startswith("cs_wi_text"))
    typed = "<b>What is the exchange rate</b> for euros to dollars? 💶"
    box.set_value(typed).run()
    assert not at.exception and not at.error
    shown = [b for b in (h.proto.body for h in at.get("html")) if "exchange" in b]
    assert shown and all("<b>" not in b for b in shown), "HTML inside a message is never rendered"
    assert html.unescape(re.sub(r"<[^>]+>", "", shown[-1])) == typed, "the message shows exactly as typed"
    intents = [mm.value for mm in at.metric if mm.label == "Intent"]
    assert "exchange_rate" in intents and intents != [before, before]

    # dearer misroutes: a higher confidence threshold, fewer messages automated; nothing retrains
    t0, auto0 = _threshold(at).value, float(_metrics(at)["Routed automatically"].rstrip("%"))
    at.number_input(key="cs_cost_misroute").set_value(200.0).run()
    assert not at.exception
    assert _threshold(at).value >= t0 and float(_metrics(at)["Routed automatically"].rstrip("%")) <= auto0
    assert len(at.session_state["_explorer_jobs"]) == 1

    # the share link reopens the run for someone else, without training
    run_id = create_share_link(at, "customer_service")
    other = AppTest.from_file(APP, default_timeout=90)
    other.run()
    other.switch_page(PAGE)
    other.query_params["run"] = run_id
    other.run()
    assert not other.exception and not other.error
    assert _metrics(other)["Accuracy"] == m["Accuracy"]
    assert "customer_service_train" not in [b.key for b in other.button]


def _csv(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("numbers.csv", _csv(["a,b"] + [f"{i},{i * 2}" for i in range(80)]), "no column of text"),
        (
            "one_team.csv",
            _csv(["message,team"] + [f"my card number {i} is lost please help,cards" for i in range(80)]),
            "only one value",
        ),
    ],
)
def test_bad_uploads_get_a_sentence(name, data, words):
    at = open_app_page(PAGE)
    at.radio(key="cs_dataset").set_value("Upload my own CSV").run()
    next(u for u in at.get("file_uploader") if u.key == "cs_upload").set_value((name, data, "text/csv")).run()
    assert not at.exception
    assert any(words in e.value for e in at.error), [e.value for e in at.error]
