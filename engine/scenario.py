"""The contract every scenario follows (scikit-learn's estimator contract, for whole pages).

A scenario is a module with:

    KIND, MODEL, BASELINES, MAX_ROWS           constants (the model file's kind, display names, row cap)
    Columns, Config, Model                    frozen dataclasses (Config fields declared with engine.options, checked
                                              by options.validate) and the module's Fitted subclass
    SAMPLE, QUICK                             the bundled sample file name and a Config that trains it in seconds
                                              (the contract test and the benchmarks use both)
    default_columns(df) -> Columns            the roles a page preselects (engine.roles does the guessing)
    prepare(df, columns, config) -> Prepared  cheap checks; DataError with a sentence when the file cannot work
    fit(df, columns, config, progress=None, cancel=None) -> Fitted
    load(source) -> Fitted                    = Fitted.from_bytes: weights and JSON only, never a pickle

and its `Fitted` subclass (a dataclass) offers one signature per verb:

    fitted.predict(df) -> DataFrame           one row per input row; decision settings (a threshold,
                                              segment names) are fields, changed with `decide(...)`
    fitted.explain(df, output=None) -> Explanation   SHAP per analyst column; `output` picks a class,
                                              segment or digit where the model has several
    fitted.score(df, reasons=3) -> DataFrame  what "Score new data" downloads: predictions first, then
                                              the top reasons, then the analyst's columns
    fitted.metrics / baseline_metrics / intervals / history / timings / notes / n_rows
    fitted.headline() -> (label, value)       the page's headline number, for run lists and comparisons
    fitted.to_bytes() / save(path)            packing driven by the dataclass fields (engine.artifacts)

Timings (seconds per model) live in `timings`, never in `metrics`, so metrics of two runs with the
same seed compare equal. `engine.scenario.SCENARIOS` lists the modules that follow the contract; one
parametrised test (tests/engine/test_scenario_contract.py) checks every one of them.
"""
from __future__ import annotations

import dataclasses
import importlib
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from engine import artifacts
from engine.data import DataError
from engine.dictionary import Dictionary
from engine.explain import Explanation
from engine.training import History

# Modules that follow the contract (the parametrised contract test runs each of them).
SCENARIOS = ("diagnosis", "fraud", "digits", "maintenance", "segmentation", "forecast", "customer_service")


def scenario(name: str) -> ModuleType:
    return importlib.import_module(f"engine.{name}")


@dataclass
class Fitted:
    """What every scenario's `fit` returns. Subclasses add their own learned state as fields.

    Field types decide how a field is written to the model file (see `pack`): torch modules as
    weights plus their `spec()`, arrays as tensors, dicts of arrays as tensors under a prefix,
    DataFrames as one parquet blob, dataclasses / History / Preprocessor as JSON, the rest as JSON.
    Fields named in `TRANSIENT` are not saved (e.g. data re-attached after loading).
    """

    KIND: ClassVar[str] = ""
    TRANSIENT: ClassVar[tuple[str, ...]] = ()
    LEGACY_PREFIXES: ClassVar[dict[str, str]] = {}  # tensor prefixes of older files → today's field names
    LEGACY_FIELDS: ClassVar[dict[str, str]] = {}  # JSON fields of older files → today's field names
    REASONS: ClassVar[bool] = True  # score() adds "top reasons" (False where a column is no reason, e.g. a pixel)
    HEADLINE: ClassVar[str] = ""  # the metrics key shown first on the page
    METRIC_LABELS: ClassVar[dict[str, str]] = {}

    metrics: dict[str, float] = field(default_factory=dict, kw_only=True)
    baseline_metrics: dict[str, dict[str, float]] = field(default_factory=dict, kw_only=True)
    intervals: dict[str, dict[str, list[float]]] = field(default_factory=dict, kw_only=True)
    history: History = field(default_factory=History, kw_only=True)
    timings: dict[str, float] = field(default_factory=dict, kw_only=True)  # fit seconds per model
    notes: list[str] = field(default_factory=list, kw_only=True)
    n_rows: dict[str, int] = field(default_factory=dict, kw_only=True)
    # The analyst's column descriptions and value labels, attached after training (files without one open empty).
    dictionary: Dictionary = field(default_factory=Dictionary, kw_only=True)

    # -- the verbs -------------------------------------------------------------------------
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def explain(self, df: pd.DataFrame, output: Any = None) -> Explanation:
        raise NotImplementedError

    def reasons_words(self) -> tuple[str, str]:
        """How a push up / down reads in the reasons column ("raises risk", "lowers risk")."""
        return "raises the score", "lowers the score"

    def reasons(self, df: pd.DataFrame, pred: pd.DataFrame, k: int) -> list[str]:
        """The top-k reasons in words for each row of `df` (`pred` = its predictions)."""
        exp = self.explain(df)
        up, down = self.reasons_words()
        return ["; ".join(exp.reasons(i, k, up, down, names=self.dictionary)) for i in range(len(df))]

    def score(self, df: pd.DataFrame, reasons: int = 3) -> pd.DataFrame:
        """Predictions first, then the top reasons in words, then the analyst's own columns."""
        pred = self.predict(df).reset_index(drop=True)
        if reasons and self.REASONS:
            pred["top reasons"] = self.reasons(df, pred, reasons)
        rest = df.reset_index(drop=True).drop(columns=[c for c in pred.columns if c in df.columns])
        return pd.concat([pred, rest], axis=1)

    def decide(self, **settings: Any) -> "Fitted":
        """A copy with decision settings changed (e.g. threshold); the trained weights are shared."""
        return dataclasses.replace(self, **settings)

    def headline(self) -> tuple[str, float]:
        key = self.HEADLINE or next(iter(self.metrics), "")
        return self.METRIC_LABELS.get(key, key), float(self.metrics.get(key, float("nan")))

    # -- the model file --------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        tensors, meta = pack(self)
        return artifacts.to_bytes(self.KIND, tensors, meta)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def from_bytes(cls, source: str | Path | bytes):
        tensors, meta = artifacts.load_artifact(source, cls.KIND)
        try:
            return unpack(cls, tensors, meta)
        except DataError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError):
            raise DataError(f"This {cls.KIND} model file is incomplete or damaged. "
                            "Download it again from the page that trained it.") from None


# ----------------------------------------------------------------------------- packing by field type


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)  # each class's annotations resolve in its own module


def _origin(tp: Any) -> Any:
    """The class behind an annotation: `X | None` → X, `dict[str, Y]` → dict."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)) and len(args) == 1:
        return _origin(args[0])
    return typing.get_origin(tp) or tp


def _value_type(tp: Any) -> Any:
    """For dict[str, Y] the Y."""
    args = typing.get_args(tp)
    return args[1] if len(args) == 2 else Any


def _is_module(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, torch.nn.Module)


def _frame_bytes(frame: pd.DataFrame) -> np.ndarray:
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return np.frombuffer(buf.getvalue(), dtype=np.uint8)


def _frame_from(t: torch.Tensor) -> pd.DataFrame:
    import io

    return pd.read_parquet(io.BytesIO(t.numpy().tobytes()))


def to_json_state(value: Any) -> Any:
    """A JSON-ready form of a dataclass / History / Preprocessor / plain value (also inside dicts and lists)."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: to_json_state(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_state(v) for v in value]
    return value


def from_json_state(tp: Any, value: Any) -> Any:
    """Rebuild a value of annotation `tp` from its JSON form (tuples restored from lists)."""
    cls = _origin(tp)
    if value is None:
        return None
    if isinstance(cls, type) and hasattr(cls, "from_dict"):
        return cls.from_dict(value)
    if isinstance(cls, type) and is_dataclass(cls):
        hints = _hints(cls)
        kwargs = {f.name: from_json_state(hints[f.name], value[f.name]) for f in fields(cls) if f.name in value and f.init}
        return cls(**kwargs)
    if cls is tuple:
        args = typing.get_args(tp)
        inner = args[0] if args and (len(args) == 2 and args[1] is Ellipsis) else Any
        return tuple(from_json_state(inner, v) for v in value)
    if cls is list:
        args = typing.get_args(tp)
        return [from_json_state(args[0] if args else Any, v) for v in value]
    if cls is dict:
        return {k: from_json_state(_value_type(tp), v) for k, v in value.items()}
    return value


def pack(fitted: Fitted) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensors, meta) for a fitted object, one entry per dataclass field."""
    hints = _hints(type(fitted))
    tensors: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for f in fields(fitted):
        if f.name in fitted.TRANSIENT:
            continue
        value, tp = getattr(fitted, f.name), hints[f.name]
        cls = _origin(tp)
        if value is None:
            meta[f.name] = None
        elif _is_module(cls):
            tensors.update({f"{f.name}.{k}": v for k, v in value.state_dict().items()})
            meta[f.name] = value.spec()
        elif cls is np.ndarray:
            tensors[f.name] = value
        elif cls is pd.DataFrame:
            tensors[f"{f.name}.parquet"] = _frame_bytes(value)
        elif cls is dict and _origin(_value_type(tp)) is np.ndarray:
            tensors.update({f"{f.name}.{k}": v for k, v in value.items()})
        elif cls is dict and _is_module(_origin(_value_type(tp))):
            for key, net in value.items():
                tensors.update({f"{f.name}.{key}.{k}": v for k, v in net.state_dict().items()})
            meta[f.name] = {key: net.spec() for key, net in value.items()}
        else:
            meta[f.name] = to_json_state(value)
    return tensors, meta


def _prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def _module(tp: Any, spec: dict, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    from engine.device import get_device

    net = _origin(tp)(**spec)
    net.load_state_dict(state)
    return net.to(get_device()).eval()


def unpack(cls: type, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Fitted:
    """The inverse of `pack`."""
    hints = _hints(cls)
    meta = {cls.LEGACY_FIELDS.get(k, k): v for k, v in meta.items()}
    for old, new in cls.LEGACY_PREFIXES.items():
        tensors = {(new + k[len(old):] if k.startswith(old + ".") else k): v for k, v in tensors.items()}
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in cls.TRANSIENT or not f.init:
            continue
        tp = hints[f.name]
        kind = _origin(tp)
        if f.name in meta and meta[f.name] is None:
            kwargs[f.name] = None
        elif _is_module(kind):
            kwargs[f.name] = _module(tp, meta[f.name], _prefixed(tensors, f.name))
        elif kind is np.ndarray:
            kwargs[f.name] = tensors[f.name].numpy()
        elif kind is pd.DataFrame:
            kwargs[f.name] = _frame_from(tensors[f"{f.name}.parquet"])
        elif kind is dict and _origin(_value_type(tp)) is np.ndarray:
            kwargs[f.name] = {k: v.numpy() for k, v in _prefixed(tensors, f.name).items()}
        elif kind is dict and _is_module(_origin(_value_type(tp))):
            kwargs[f.name] = {key: _module(_value_type(tp), spec, _prefixed(tensors, f"{f.name}.{key}"))
                              for key, spec in meta[f.name].items()}
        elif f.name in meta:
            kwargs[f.name] = from_json_state(tp, meta[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise KeyError(f.name)
    return cls(**kwargs)
