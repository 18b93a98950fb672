"""The run store's back ends, what they share: the connect timeout, the `StoreUnavailable` sentence every back end
raises when its database or storage cannot be used, and reading the settings (`default_folder`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from engine.data import DataError

CONNECT_TIMEOUT = float(os.environ.get("EXPLORER_STORE_CONNECT_TIMEOUT", "5"))

_SHARING_OFF = "Training works as usual; share links are unavailable until it is back."


class StoreUnavailable(DataError):
    """The run store's database or blob storage cannot be used right now (a sentence for the page)."""

    @property
    def cause(self) -> str:
        """What is wrong, without the closing advice (for "Sharing is unavailable until …: <cause>")."""
        return self.message.replace(_SHARING_OFF, "").strip()


# ----------------------------------------------------------------------------------------- settings


def default_folder() -> Path:
    """The embedded store's folder: EXPLORER_RUN_STORE when it is a folder, else the XDG data dir."""
    env = os.environ.get("EXPLORER_RUN_STORE", "")
    if env and not _is_database_url(env):
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "ai-scenario-explorer"


def _is_database_url(setting: str) -> bool:
    return bool(re.match(r"^(postgres|postgresql)(\+\w+)?://", setting))
