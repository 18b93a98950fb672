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
parametrised test (tests/engine/test_scenario_contract.py) checks every one of them. Each module also says what
the app shows about it once, as `ABOUT = About(...)` (title, icon, purpose, headline, widget prefix, decision,
capabilities): the app's navigation, the share and training views and the contract test read that, so a new
scenario is its own files plus one line in SCENARIOS.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, ClassVar, Self, TypeVar

import numpy as np
import pandas as pd
import torch

from engine import artifacts
from engine.data import DataError
from engine.dictionary import Dictionary
from engine.explain import Explanation
from engine.training import History, place

# The one list of scenarios: a module name per line, in the order the app lists its pages. Everything the app, the
# share and training views and the contract test need to know about a scenario is its module's `ABOUT`.
SCENARIOS = ("diagnosis", "segmentation", "digits", "fraud", "forecast", "maintenance", "customer_service")


@dataclass(frozen=True)
class Decision:
    """A decision setting of a scenario, changed after training with `Fitted.decide`, and the answer it moves:
    `change(model)` gives the settings for `decide(...)`, `answer(model, rows)` what they move (the contract test
    checks that it moves and that the weights are shared)."""

    change: Callable[[Any], dict[str, Any]]
    answer: Callable[[Any, pd.DataFrame], Any]


@dataclass(frozen=True)
class About:
    """What the app says about a scenario, declared once in its module as `ABOUT = About(...)`.

    The page is `app_pages/<name>.py` at the url path `<name>`; `prefix` starts its widget keys ("dx"). The
    capabilities say which shared parts it offers: `data_parallel` (its networks train in engine.training's loop, so a
    Ray cluster can train them on several workers), `subgroups` (a Subgroups view whose column a share link carries),
    `capacity` (a review-capacity input: the cheapest threshold within N alerts per 1,000, engine.binary)."""

    name: str  # the module's name, its model files' KIND and its url path
    title: str
    icon: str  # a ":material/...:" icon (emoji do not render in every browser)
    purpose: str  # one line for the home page: what an analyst gets from it
    headline: str  # the metrics key shown first (the Model's HEADLINE), e.g. "roc_auc"
    prefix: str
    decision: Decision
    data_parallel: bool = False
    subgroups: bool = False
    capacity: bool = False

    @property
    def page(self) -> str:
        return f"app_pages/{self.name}.py"

    @property
    def url_path(self) -> str:
        return self.name

    @property
    def headline_label(self) -> str:
        """How the page names its headline metric ("ROC-AUC")."""
        return scenario(self.name).Model.METRIC_LABELS.get(self.headline, self.headline)


def scenario(name: str) -> ModuleType:
    return importlib.import_module(f"engine.{name}")


def about(name: str) -> About | None:
    """A listed scenario's `ABOUT`, or None for a name not in SCENARIOS (e.g. a page of a stored run since removed)."""
    return scenario(name).ABOUT if name in SCENARIOS else None


def abouts() -> list[About]:
    """Every scenario's `ABOUT`, in the order of SCENARIOS."""
    return [scenario(name).ABOUT for name in SCENARIOS]


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
        pred = self.labelled(self.predict(df).reset_index(drop=True))
        if reasons and self.REASONS:  # no rows (nothing flagged, an empty file): no explanation to ask for
            pred["top reasons"] = self.reasons(df, pred, reasons) if len(df) else []
        rest = df.reset_index(drop=True).drop(columns=[c for c in pred.columns if c in df.columns])
        return pd.concat([pred, rest], axis=1)

    def labelled(self, pred: pd.DataFrame) -> pd.DataFrame:
        """Answers in the data dictionary's words: a predicted outcome code reads "0 = no disease" and a column
        named after a code "P(1 = disease)", where the analyst's dictionary labels the outcome's codes."""
        from engine.dictionary import value_key

        target = getattr(getattr(self, "columns", None), "target", None)
        codes = self.dictionary.values.get(target, {}) if target else {}
        if not codes or target is None:
            return pred
        out = pred.copy()
        for c in out.columns:
            values = out[c]
            if (
                not pd.api.types.is_float_dtype(values)
                and len(values)
                and all(value_key(v) in codes for v in values.dropna().unique())
            ):
                out[c] = values.map(lambda v: self.dictionary.value_label(target, v))
        return out.rename(
            columns={
                c: f"P({self.dictionary.value_label(target, c[2:-1])})"
                for c in out.columns
                if isinstance(c, str) and c.startswith("P(") and value_key(c[2:-1]) in codes
            }
        )

    def decide(self, **settings: Any) -> Self:
        """A copy with decision settings changed (e.g. threshold); the trained weights are shared."""
        return dataclasses.replace(self, **settings)

    @staticmethod
    def place(x: Any, dtype: torch.dtype | None = None) -> Any:
        """A module, tensor or array on the device this model's networks live on (loaded networks are put there
        too): a subclass hands its tensors here instead of asking engine.device."""
        return place(x, dtype)

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
            raise DataError(
                f"This {cls.KIND} model file is incomplete or damaged. Download it again from the page that trained it."
            ) from None


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
    """A table saved in a model file; its size is read from the parquet footer and checked before it is unpacked
    (a few kilobytes of parquet can hold millions of repeated cells)."""
    import io

    import pyarrow.parquet as pq

    from engine.data import MAX_BYTES, MAX_CELLS

    buf = io.BytesIO(t.numpy().tobytes())
    info = pq.ParquetFile(buf).metadata
    unpacked = sum(info.row_group(i).total_byte_size for i in range(info.num_row_groups))
    if info.num_rows * max(info.num_columns, 1) > MAX_CELLS or unpacked > MAX_BYTES:
        raise _damaged(f"a table in it unpacks to {info.num_rows:,} rows of {info.num_columns:,} columns")
    buf.seek(0)
    return pd.read_parquet(buf)


def to_json_state(value: Any) -> Any:
    """A JSON-ready form of a dataclass / History / Preprocessor / plain value (also inside dicts and lists)."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
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
        kwargs = {
            f.name: from_json_state(hints[f.name], value[f.name]) for f in fields(cls) if f.name in value and f.init
        }
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
    return {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


# The largest network a model file may describe. Our largest (the forecast network) holds about 0.2 million
# parameters; a file over this cap is refused before anything is built.
MAX_PARAMETERS = 20_000_000


def _damaged(why: str) -> DataError:
    return DataError(
        f"This model file is incomplete or damaged: {why}. Download it again from the page that trained it."
    )


def check_module(cls: type, spec: Any, state: dict[str, torch.Tensor]) -> None:
    """Refuse a network whose settings (`spec`) disagree with the weights in the file, before it is built.

    The file's settings decide the layer sizes, so a crafted file could ask the server for a network of any size
    while holding a few kilobytes of weights. The network is first built on PyTorch's meta device (shapes only,
    no memory, no initialisation); its parameter names, shapes and count must match the file's tensors and stay
    under MAX_PARAMETERS. A list of sizes or positions in the settings cannot be longer than the numbers the file
    stores (each layer or position holds at least one), so even the meta build stays in proportion to the file.
    """
    if not isinstance(spec, dict) or not all(isinstance(k, str) for k in spec):
        raise _damaged("its network settings are missing")
    stored = sum(int(v.numel()) for v in state.values())
    for value in spec.values():  # a list of sizes or positions costs the file at least one stored number each
        if isinstance(value, (list, tuple)) and len(value) > max(stored, 1) and all(isinstance(v, int) for v in value):
            raise _damaged(f"its settings list {len(value):,} sizes but it holds {stored:,} numbers")
    try:
        with torch.device("meta"):
            built = _build(cls, spec)
            shapes = {k: tuple(v.shape) for k, v in built.state_dict().items()}
            weights = {k for k, _ in built.named_parameters()}
    except Exception:  # any setting the network cannot be built from (a negative size, a wrong name, a huge number)
        raise _damaged("its network settings cannot be read") from None
    n = sum(int(np.prod(s, dtype=np.int64)) if s else 1 for s in shapes.values())
    if n > MAX_PARAMETERS:
        raise _damaged(f"its settings describe a network of {n:,} weights, over the {MAX_PARAMETERS:,} this app opens")
    found = {k: tuple(v.shape) for k, v in state.items()}
    if shapes != found:
        wrong = sorted(set(shapes) ^ set(found)) or [k for k in shapes if shapes[k] != found[k]]
        raise _damaged(f"its settings do not match the weights it holds ({wrong[0]})")
    if any(not state[k].is_floating_point() for k in weights):  # buffers may hold whole numbers (column positions)
        raise _damaged("its weights are not numbers with a decimal point")


def _build(cls: Any, spec: dict) -> torch.nn.Module:
    """The network a field's settings describe; `from_spec` where a field may hold one of several networks."""
    return cls.from_spec(spec) if hasattr(cls, "from_spec") else cls(**spec)


def _module(tp: Any, spec: dict, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    cls = _origin(tp)
    check_module(cls, spec, state)
    net = _build(cls, spec)
    net.load_state_dict(state)
    return place(net).eval()


FittedT = TypeVar("FittedT", bound="Fitted")


def unpack(cls: type[FittedT], tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> FittedT:
    """The inverse of `pack`."""
    hints = _hints(cls)
    meta = {cls.LEGACY_FIELDS.get(k, k): v for k, v in meta.items()}
    for old, new in cls.LEGACY_PREFIXES.items():
        tensors = {(new + k[len(old) :] if k.startswith(old + ".") else k): v for k, v in tensors.items()}
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
            kwargs[f.name] = {
                key: _module(_value_type(tp), spec, _prefixed(tensors, f"{f.name}.{key}"))
                for key, spec in meta[f.name].items()
            }
        elif f.name in meta:
            kwargs[f.name] = from_json_state(tp, meta[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise KeyError(f.name)
    return cls(**kwargs)


# ----------------------------------------------------------------------------- the module contract, as a type


@typing.runtime_checkable
class ScenarioModule(typing.Protocol):
    """What a scenario module offers (the list at the top of this file says what each name means).

    The contract test checks every module of SCENARIOS against it (`isinstance(module, ScenarioModule)`: every
    name present), then the verbs' signatures; a type checker can check a module assigned to a name of this type.
    """

    KIND: str
    MODEL: str
    BASELINES: tuple[str, ...]
    MAX_ROWS: int
    SAMPLE: str
    QUICK: Any  # an instance of Config
    Columns: type
    Config: type
    Model: type[Fitted]

    def default_columns(self, df: pd.DataFrame) -> Any: ...

    def prepare(self, df: pd.DataFrame, columns: Any, *args: Any, **kwargs: Any) -> Any: ...

    def fit(
        self, df: pd.DataFrame, columns: Any, config: Any, progress: Any = None, cancel: Any = None, **kwargs: Any
    ) -> Fitted: ...

    def load(self, source: str | Path | bytes) -> Fitted: ...
