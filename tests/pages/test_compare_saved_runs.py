"""Compare with saved runs (issue 16): the runs an analyst saved as share links (My runs) are offered beside this
session's runs in "Compare runs side by side". A session run that was saved is offered once; a saved run whose job
the session no longer keeps is read back from the run store — its metrics as stored, its settings, its top SHAP
columns from the stored model and dataset; a deleted one gives a sentence. Signed out, a session sees only the links
it created itself.

Signed in, the runs offered are those the analyst owns, from any browser session (checked here with AppTest's
simulated user, and in tests/browser/test_sign_in_browser.py with a real OpenID Connect provider)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

import ui.auth
import ui.training
from engine import diagnosis as dx
from engine.store import RunStore, StoreUnavailable
from tests.conftest import ROOT, open_app_page
from tests.pages.sharing import create_share_link

DROPPED = ["thal", "ca"]


def _train(at: AppTest) -> str:
    """Press Train; wait; return the new job's id."""
    before = set(at.session_state["_explorer_jobs"]) if "_explorer_jobs" in at.session_state else set()
    at.button(key="diagnosis_train").click().run()
    job = next(j for k, j in at.session_state["_explorer_jobs"].items() if k not in before)
    assert job.wait(180) and job.status == "done", job.error
    at.run()
    assert not at.exception, at.exception
    return job.id


def _panel(at: AppTest) -> list[str]:
    return [e.label for e in at.expander if e.label.startswith("Compare runs side by side")]


def _sentences(at: AppTest) -> list[str]:
    """The panel's warnings about saved runs (the page has warnings of its own, such as few held-out rows)."""
    return [w.value for w in at.warning if w.icon == ":material/link_off:"]


def _frame(at: AppTest, columns: list[str]):
    return next(d.value for d in at.dataframe if list(d.value.columns) == columns)


def _metrics(at: AppTest):
    return next(d.value for d in at.dataframe if "B − A" in d.value.columns).set_index("metric")


def test_saved_runs_are_offered_once_read_back_from_the_store_and_a_deleted_one_says_so(monkeypatch):
    at = open_app_page("app_pages/diagnosis.py", timeout=120)
    at.number_input(key="dx_epochs").set_value(5).run()
    first = _train(at)
    first_model = next(iter(at.session_state["_explorer_jobs"].values())).result
    run_id = create_share_link(at, "diagnosis")
    assert not _panel(at)  # the saved run is this session's run: nothing else to compare it with

    # 1. a second run: the session comparison works, and the saved first run is offered once, as the session run
    features = next(m for m in at.multiselect if m.key and m.key.startswith("dx_features_"))
    all_features = list(features.value)
    features.set_value([f for f in all_features if f not in DROPPED]).run()
    _train(at)
    assert _panel(at) == ["Compare runs side by side (2 runs of this page in this session)"], _panel(at)
    a = at.selectbox(key="diagnosis_compare_a")
    assert a.options == [o for o in a.options if not o.startswith("Saved ")] and a.value == first
    assert a.options[0].endswith(" · saved") and not a.options[1].endswith(" · saved")
    assert list(_frame(at, ["setting", "run A", "run B"])["setting"]) == ["column · features"]
    session_tops = list(_frame(at, ["rank", "run A", "run B"])["run A"])  # the first run's, from its live model

    # 2. a third run, and the session keeps only two jobs: the first run is now offered as the saved run
    monkeypatch.setattr(ui.training, "_MAX_KEPT", 2)
    at.slider(key="dx_dropout").set_value(0.1).run()
    _train(at)
    assert first not in {j.id for j in at.session_state["_explorer_jobs"].values()}
    assert _panel(at) == ["Compare runs side by side (2 runs of this page in this session, 1 saved on My runs)"]
    choice = f"saved:{run_id}"
    stored = RunStore().info(run_id)
    at.selectbox(key="diagnosis_compare_a").set_value(choice).run()
    assert not at.exception and not at.error and not _sentences(at), _sentences(at)
    assert at.selectbox(key="diagnosis_compare_a").value == choice
    shown = at.selectbox(key="diagnosis_compare_a").options
    assert any(
        o.startswith("Saved ")
        and "heart_disease_cleveland.csv" in o
        and o.endswith(f"ROC-AUC {stored.metrics['roc_auc']:.3f}")
        for o in shown
    ), shown
    # its metrics are the stored ones (and the first run's own), beside the third run's
    third = list(at.session_state["_explorer_jobs"].values())[-1].result
    metrics = _metrics(at)
    for key, name in (("roc_auc", "ROC-AUC"), ("brier", "Brier score")):
        assert stored.metrics[key] == first_model.metrics[key]
        assert metrics.loc[name, "run A"].split(" ")[0] == f"{stored.metrics[key]:.3f}", metrics.loc[name]
        assert metrics.loc[name, "run B"].split(" ")[0] == f"{third.metrics[key]:.3f}"
        assert metrics.loc[name, "B − A"] == f"{third.metrics[key] - stored.metrics[key]:+.3f}"
    lo, hi = first_model.intervals[dx.MODEL]["roc_auc"]  # the saved run's interval travelled with its model
    assert metrics.loc["ROC-AUC", "run A"] == f"{stored.metrics['roc_auc']:.3f} ({lo:.3f}–{hi:.3f})"
    # the settings that differ: the dropped columns and the dropout, read from what the store kept
    differ = _frame(at, ["setting", "run A", "run B"]).set_index("setting")
    assert list(differ.index) == ["column · features", "option · dropout"], differ
    assert differ.loc["column · features", "run A"] == ", ".join(stored.columns["features"]) == ", ".join(all_features)
    assert differ.loc["column · features", "run B"] == ", ".join(f for f in all_features if f not in DROPPED)
    assert (differ.loc["option · dropout", "run A"], differ.loc["option · dropout", "run B"]) == (
        str(stored.settings["dropout"]),
        "0.1",
    )
    # its top SHAP columns, from the stored model and dataset, are those its live model gave in step 1
    assert list(_frame(at, ["rank", "run A", "run B"])["run A"]) == session_tops

    # 3. the saved run is deleted (on My runs, say): a sentence, and the session's runs still compare
    RunStore().delete(run_id)
    at.run()
    assert not at.exception and not at.error
    assert any("was deleted or has expired" in w for w in _sentences(at)), _sentences(at)
    assert _panel(at) == ["Compare runs side by side (2 runs of this page in this session)"]
    assert list(_frame(at, ["setting", "run A", "run B"])["setting"]) == ["option · dropout"]
    at.run()
    assert not _sentences(at)  # said once; the choice is back to the session's runs

    # 4. the run store is down: a sentence in the panel, and the session's runs still compare
    def down(*args, **kwargs):
        raise StoreUnavailable("The run store cannot be reached.")

    monkeypatch.setattr(RunStore, "list", down)
    at.run()
    assert not at.exception and not at.error
    assert any("cannot be offered until the run store is back" in c.value for c in at.caption)
    assert list(_frame(at, ["setting", "run A", "run B"])["setting"]) == ["option · dropout"]


def test_a_fresh_signed_out_session_sees_only_the_runs_it_saved_itself(monkeypatch):
    owner = open_app_page("app_pages/diagnosis.py", timeout=120)
    owner.number_input(key="dx_epochs").set_value(5).run()
    _train(owner)
    theirs = create_share_link(owner, "diagnosis")

    visitor = open_app_page("app_pages/diagnosis.py", timeout=120)
    visitor.number_input(key="dx_epochs").set_value(5).run()
    _train(visitor)
    assert not _panel(visitor)  # one run of its own, and the other session's link is not its to list
    mine = create_share_link(visitor, "diagnosis")
    monkeypatch.setattr(ui.training, "_MAX_KEPT", 1)  # the session forgets its first run: only the link is left
    visitor.slider(key="dx_dropout").set_value(0.1).run()
    _train(visitor)
    assert _panel(visitor) == ["Compare runs side by side (1 run of this page in this session, 1 saved on My runs)"]
    assert visitor.selectbox(key="diagnosis_compare_a").value == f"saved:{mine}" != f"saved:{theirs}"
    differ = _frame(visitor, ["setting", "run A", "run B"])
    assert list(differ["setting"]) == ["option · dropout"] and list(differ.iloc[0, 1:]) == ["0.3", "0.1"]
    # its link deleted (on My runs, say): nothing is left to compare with, and step 3 says why the panel went
    RunStore().delete(mine)
    visitor.run()
    assert not visitor.exception and not _panel(visitor)
    assert any("was deleted or has expired" in w for w in _sentences(visitor)), _sentences(visitor)


def test_a_saved_run_that_cannot_be_read_gives_a_sentence(monkeypatch):
    """The store goes down after listing (or the run's files went missing): the panel says so, no traceback."""
    at = open_app_page("app_pages/diagnosis.py", timeout=120)
    at.number_input(key="dx_epochs").set_value(5).run()
    _train(at)
    run_id = create_share_link(at, "diagnosis")

    def down(*args, **kwargs):
        raise StoreUnavailable("The run store cannot be reached.")

    monkeypatch.setattr(RunStore, "load", down)  # listing works; reading the run does not
    monkeypatch.setattr(ui.training, "_MAX_KEPT", 1)
    at.slider(key="dx_dropout").set_value(0.1).run()
    _train(at)
    assert _panel(at) == ["Compare runs side by side (1 run of this page in this session, 1 saved on My runs)"]
    assert not at.exception and not at.error
    assert any("cannot be read until the run store is back" in w for w in _sentences(at)), _sentences(at)
    assert at.selectbox(key="diagnosis_compare_a").value == f"saved:{run_id}"


AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-secret-not-used",
    "client_id": "explorer",
    "client_secret": "any",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def _signed_in(sub: str) -> AppTest:
    """A new browser session of `sub`, signed in (AppTest's simulated st.user), on Diagnosis with few epochs."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["auth"] = AUTH
    at.user = {
        "is_logged_in": True,
        "sub": f"{sub}-sub",
        "email": f"{sub}@example.com",
        "name": sub.title(),
        "email_verified": True,
    }
    at.run()
    at.switch_page("app_pages/diagnosis.py").run()
    assert not at.exception and at.button(key="auth_sign_out")
    at.number_input(key="dx_epochs").set_value(5).run()
    return at


def test_signed_in_an_analyst_compares_with_the_runs_they_own_from_another_session(monkeypatch):
    monkeypatch.setattr(ui.auth, "return_after_sign_in", lambda pages: None)  # reads cookies, which AppTest lacks
    monkeypatch.setenv("EXPLORER_ALLOWED_DOMAINS", "example.com")
    first = _signed_in("alice")
    _train(first)
    mine = create_share_link(first, "diagnosis")  # "Anyone signed in to this app": bob may open it, not list it
    assert RunStore().info(mine).owner == "alice-sub"

    later = _signed_in("alice")  # another browser session, same account
    later.slider(key="dx_dropout").set_value(0.1).run()
    _train(later)
    assert _panel(later) == ["Compare runs side by side (1 run of this page in this session, 1 saved on My runs)"]
    assert later.selectbox(key="diagnosis_compare_a").value == f"saved:{mine}"
    assert list(_frame(later, ["setting", "run A", "run B"])["setting"]) == ["option · dropout"]

    colleague = _signed_in("bob")
    _train(colleague)
    assert not _panel(colleague)  # alice's run is not bob's to compare with
