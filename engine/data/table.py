"""The read table, its limits, and the error every analyst-fixable problem raises."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pandas as pd

MAX_BYTES = 200 * 1024 * 1024  # matches .streamlit/config.toml maxUploadSize
MAX_ROWS = 1_000_000
MAX_COLUMNS = 2_000  # wider files are refused with a sentence (the digit page needs 785)
# Rows × columns read from one file. Parsing costs about 27 bytes a cell at worst (one-character cells; measured
# in bench/memory.py --hostile), so this cap, not the file's size, bounds the memory a small file can take.
# Kaggle's digit-recognizer train.csv (42,000 images × 785 columns, 33 million cells) fits.
MAX_CELLS = 40_000_000


class DataError(ValueError):
    """A problem with the analyst's data, written for the analyst."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Table:
    """A read CSV: the frame, what was done while reading it, and a content fingerprint."""

    df: pd.DataFrame
    name: str
    notes: list[str] = field(default_factory=list)
    fingerprint: str = ""
    notice: str = ""  # what the analyst must see at once (rows left out), beside the preview

    @property
    def shape(self) -> tuple[int, int]:
        return self.df.shape


def fingerprint_bytes(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
