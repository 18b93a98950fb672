"""How problems reach the analyst: their data's problems as sentences, our bugs as an apology."""

from __future__ import annotations

import contextlib
import logging
import secrets
import traceback

import streamlit as st
from streamlit.runtime.scriptrunner import RerunException, StopException

from engine.data import DataError
from ui.text import plain

log = logging.getLogger("explorer.ui")


def apology(what: str) -> None:
    """Log the current exception with an id; show the analyst a short apology carrying that id."""
    error_id = secrets.token_hex(4)
    log.error("error id %s during %s\n%s", error_id, what, traceback.format_exc())
    st.error(
        f"Sorry — something went wrong on our side during {what}. Your data is unchanged; "
        f"try again, and if it keeps happening report error id {error_id}.",
        icon=":material/build:",
    )


@contextlib.contextmanager
def guard(what: str = "this step", stop: bool = True):
    """DataError → its sentence; anything else → logged, short apology. Then stop this run."""
    try:
        yield
    except (StopException, RerunException):
        raise
    except DataError as exc:
        st.error(plain(exc.message), icon=":material/error:")
        if stop:
            st.stop()
    except Exception:
        apology(what)
        if stop:
            st.stop()
