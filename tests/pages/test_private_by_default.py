"""Private by default (issue 13) in AppTest: training stores nothing; links are created, listed and deleted;
with `[auth]` configured every page waits behind the sign-in screen."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.pages.sharing import create_share_link, store_files
from ui.auth import domain_refusal

APP = str(ROOT / "app.py")


def _trained_diagnosis() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/diagnosis.py").run()
    at.number_input(key="dx_epochs").set_value(20).run()
    at.button(key="diagnosis_train").click().run()
    job = next(iter(at.session_state["_explorer_jobs"].values()))
    assert job.wait(120) and job.status == "done", job.error
    at.run()
    assert not at.exception
    return at


def test_training_alone_writes_nothing_then_my_runs_lists_and_deletes_the_link():
    before = store_files()
    at = _trained_diagnosis()
    assert store_files() == before, "training wrote to EXPLORER_RUN_STORE before the analyst asked for a link"
    assert any("anyone who has the link" in c.value for c in at.caption)  # sign-in is off here: said before
    assert not at.get("radio") or "diagnosis_link_visibility" not in [r.key for r in at.radio]  # no choice to offer
    run_id = create_share_link(at, "diagnosis")
    assert any(run_id in f for f in store_files())
    assert any("Who can open it: Anyone with the link" in c.value for c in at.caption)

    at.switch_page("app_pages/my_runs.py").run()
    assert not at.exception
    listed = [c.value for c in at.code]
    assert len(listed) == 1 and listed[0].endswith(f"/diagnosis?run={run_id}")
    row = " ".join(m.value for m in at.markdown)
    assert "Diagnosis" in row and "heart_disease_cleveland.csv" in row and "ROC-AUC" in row
    assert any("kept until" in c.value for c in at.caption)

    at.button(key=f"my_runs_delete_{run_id}").click().run()
    assert not at.exception
    assert not any(run_id in f for f in store_files()), "the run's files are still stored"
    assert any("not created any share links" in i.value for i in at.info)

    visitor = AppTest.from_file(APP, default_timeout=60)
    visitor.run()
    visitor.switch_page("app_pages/diagnosis.py")
    visitor.query_params["run"] = run_id
    visitor.run()
    assert any("was deleted by the analyst who created it" in w.value for w in visitor.warning)


def test_deleting_from_the_share_tab_offers_a_new_link():
    at = _trained_diagnosis()
    run_id = create_share_link(at, "diagnosis")
    at.button(key="diagnosis_delete_link").click().run()
    assert not at.exception and not any(run_id in f for f in store_files())
    assert at.button(key="diagnosis_create_link")  # the results stay; a new link can be made
    assert not [c for c in at.code if "?run=" in c.value]


def test_a_fresh_session_has_no_runs_and_cannot_delete_others():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/my_runs.py").run()
    assert not at.exception
    assert any("not created any share links" in i.value for i in at.info)
    assert not at.code


AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-secret-not-used",
    "client_id": "explorer",
    "client_secret": "any",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


@pytest.mark.parametrize("page", ["", "app_pages/diagnosis.py", "app_pages/my_runs.py"])
def test_with_auth_configured_every_page_waits_behind_sign_in(page, monkeypatch):
    monkeypatch.setenv("EXPLORER_ALLOWED_DOMAINS", "example.com")  # sign-in without an allow-list closes the app
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception
    assert at.button(key="auth_sign_in")
    assert "1 · Data" not in " ".join(s.value for s in at.subheader)
    assert not at.get("file_uploader") and "Models train on" not in " ".join(i.value for i in at.info)


def test_a_signed_out_link_visitor_is_told_they_come_back_to_the_run(monkeypatch):
    monkeypatch.setenv("EXPLORER_ALLOWED_DOMAINS", "example.com")
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.run()
    at.switch_page("app_pages/diagnosis.py")
    at.query_params["run"] = "A" * 22
    at.run()
    assert not at.exception
    assert any("This link opens a shared run" in i.value for i in at.info)


@pytest.mark.parametrize(
    "email, verified, domains, refused",
    [
        ("alice@example.com", True, [], True),  # no allow-list: nobody, unless EXPLORER_ALLOW_ANY_ACCOUNT=1
        ("alice@example.com", None, ["example.com"], True),  # a missing email_verified claim proves nothing
        ("ALICE@Example.COM", True, ["example.com"], False),  # domains compare case-insensitively
        ("mallory@evil.test", True, ["example.com"], True),
        ("mallory@example.com.evil.test", True, ["example.com"], True),
        ("no-email", True, ["example.com"], True),
        ("alice@example.com", False, ["example.com"], True),  # an unverified address proves nothing
    ],
)
def test_the_domain_allow_list(email, verified, domains, refused):
    sentence = domain_refusal(email, verified, domains, allow_any=False)
    assert (sentence is not None) == refused
    if refused:
        assert "Traceback" not in sentence and sentence.endswith(".")
    assert domain_refusal(email, verified, [], allow_any=True) == (
        None if verified is True else domain_refusal(email, verified, [])
    )


@pytest.mark.parametrize(
    "visibility, words",
    [("signed_in", "sign-in is not set up on this server"), ("owner", "sign-in is not set up on this server")],
)
def test_a_restricted_link_on_a_server_without_sign_in_gives_a_sentence_not_the_data(visibility, words):
    from engine.data import load_table
    from engine.store import RunStore

    table = load_table(b"age,target\n50,1\n60,0\n", "private.csv")
    run_id = RunStore().save("diagnosis", b"not a model", table, {}, {}, {}, owner="alice", visibility=visibility)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/diagnosis.py")
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    assert any(words in w.value for w in at.warning), [w.value for w in at.warning]
    assert not any("A shared run" in m.value for m in at.markdown)
    assert at.button(key="diagnosis_train")  # the normal page below
