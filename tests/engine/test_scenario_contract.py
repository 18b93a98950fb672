"""One contract, every scenario (engine/scenario.py): the same verbs with the same signatures, the same
fitted shape, model files that round-trip, options validated from their metadata.

Adding a scenario to engine.scenario.SCENARIOS puts it through every test here; what each scenario decides after
training, and what that moves, is its module's ABOUT.decision."""

from __future__ import annotations

import dataclasses
import inspect
import math
import re

import numpy as np
import pandas as pd
import pytest
import torch

from engine import scenario as sc
from engine.data import DataError, load_table
from engine.explain import Explanation
from engine.training import History
from tests.conftest import SAMPLES

NAMES = list(sc.SCENARIOS)

# A forecaster scores whole histories: its rows are two complete series of the sample, and its answer is one row
# per series and future step (not one per input row); its explanation has one row per series.
HISTORIES = {"forecast": lambda df: df[df["stock_code"].isin(df["stock_code"].unique()[:2])].reset_index(drop=True)}


def _rows(mod, df: pd.DataFrame, n: int) -> pd.DataFrame:
    return HISTORIES[mod.KIND](df) if mod.KIND in HISTORIES else df.head(n)


@pytest.fixture(scope="module", params=NAMES)
def trained(request):
    mod = sc.scenario(request.param)
    df = load_table(SAMPLES / mod.SAMPLE, mod.SAMPLE).df
    columns = mod.default_columns(df)
    config = mod.QUICK  # the contract, not the threshold: no out-of-fold networks (tests/engine/test_<scenario>.py)
    if "threshold_folds" in {f.name for f in dataclasses.fields(config)}:
        config = dataclasses.replace(config, threshold_folds=0)
    return mod, df, columns, mod.fit(df, columns, config)


@pytest.mark.parametrize("name", NAMES)
def test_module_offers_the_contract(name):
    mod = sc.scenario(name)
    assert isinstance(mod, sc.ScenarioModule), f"{name} does not offer every name of engine.scenario.ScenarioModule"
    assert issubclass(mod.Model, sc.Fitted) and mod.Model.KIND == mod.KIND
    assert dataclasses.is_dataclass(mod.Columns) and mod.Columns.__dataclass_params__.frozen
    assert dataclasses.is_dataclass(mod.Config) and mod.Config.__dataclass_params__.frozen
    assert list(inspect.signature(mod.fit).parameters)[:5] == ["df", "columns", "config", "progress", "cancel"]
    for verb, params in (
        ("predict", ["self", "df"]),
        ("explain", ["self", "df", "output"]),
        ("score", ["self", "df", "reasons"]),
    ):
        assert list(inspect.signature(getattr(mod.Model, verb)).parameters) == params, f"{name}.{verb}"
    assert (SAMPLES / mod.SAMPLE).exists()


@pytest.mark.parametrize("name", NAMES)
def test_options_are_validated_from_their_metadata(name):
    config = sc.scenario(name).Config
    limited = [f for f in dataclasses.fields(config) if "min" in f.metadata or "max" in f.metadata]
    assert limited, "options declare their limits"
    for f in limited:
        bad = f.metadata["min"] - 1 if "min" in f.metadata else f.metadata["max"] + 1
        with pytest.raises(ValueError, match=re.escape(f.metadata.get("label", f.name))):
            config(**{f.name: type(f.default)(bad)})
        assert f.metadata.get("help"), f"{f.name} has no help text"


def test_fitted_shape(trained):
    mod, df, columns, fitted = trained
    assert isinstance(fitted, mod.Model) and isinstance(fitted.history, History)
    assert fitted.metrics and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in fitted.metrics.values()
    )
    assert not any("second" in k or "time" in k for k in fitted.metrics), "timings live apart from metrics"
    assert set(fitted.baseline_metrics) == set(mod.BASELINES)
    assert mod.MODEL in fitted.timings and all(v >= 0 for v in fitted.timings.values())
    label, value = fitted.headline()
    assert label and math.isfinite(value)
    assert fitted.n_rows and max(fitted.n_rows.values()) > 0 and all(n >= 0 for n in fitted.n_rows.values())


def test_predict_explain_score(trained):
    mod, df, columns, fitted = trained
    rows = _rows(mod, df, 6)
    pred = fitted.predict(rows)
    per_history = mod.KIND in HISTORIES
    assert len(pred) == (2 * fitted.horizon if per_history else len(rows)) and pred.notna().all().all()
    scored = fitted.score(rows, reasons=0)
    assert list(scored.columns[: pred.shape[1]]) == list(pred.columns), "the answer comes first"
    pd.testing.assert_frame_equal(scored[list(pred.columns)], pred.reset_index(drop=True))
    pytest.importorskip("shap")
    exp = fitted.explain(rows)
    assert isinstance(exp, Explanation) and exp.values.shape[0] == (2 if per_history else len(rows))
    assert ("top reasons" in fitted.score(rows if per_history else rows.head(2)).columns) == fitted.REASONS


def test_model_file_round_trip(trained, tmp_path):
    mod, df, columns, fitted = trained
    fitted.save(tmp_path / "m.safetensors")
    again = mod.load(tmp_path / "m.safetensors")
    assert type(again) is type(fitted)
    rows = _rows(mod, df, 20)
    pd.testing.assert_frame_equal(again.predict(rows), fitted.predict(rows))
    assert again.metrics == fitted.metrics and again.baseline_metrics == fitted.baseline_metrics
    (t1, m1), (t2, m2) = sc.pack(fitted), sc.pack(again)
    assert m1 == m2 and t1.keys() == t2.keys(), "saving a loaded model writes the same fields"
    for k in t1:
        assert np.array_equal(
            np.asarray(t1[k].cpu() if hasattr(t1[k], "cpu") else t1[k]),
            np.asarray(t2[k].cpu() if hasattr(t2[k], "cpu") else t2[k]),
        ), k


def test_a_file_of_another_page_gets_a_sentence(trained):
    mod, df, columns, fitted = trained
    other = sc.scenario("digits" if mod.KIND != "digits" else "diagnosis")
    with pytest.raises(DataError, match="page"):
        other.load(fitted.to_bytes())
    with pytest.raises(DataError, match="not a model"):
        mod.load(b"not a model file at all")


@pytest.mark.parametrize("name", NAMES)
def test_every_scenario_says_what_the_app_shows_about_it(name):
    """One place per scenario: its module's ABOUT names it, its page, headline, decision and capabilities; the app's
    navigation, the share and training views read nothing else."""
    mod = sc.scenario(name)
    about = mod.ABOUT
    assert isinstance(about, sc.About) and about.name == name == mod.KIND
    assert about.title and about.purpose and about.prefix and re.fullmatch(r":material/[a-z_]+:", about.icon)
    assert mod.Model.HEADLINE == about.headline and about.headline_label
    assert (SAMPLES.parent / about.page).exists(), about.page
    assert isinstance(about.decision, sc.Decision)
    if about.capacity:  # the cheapest threshold within a review capacity (engine.binary)
        assert all(callable(getattr(mod.Model, verb, None)) for verb in ("threshold_band", "held_out_best"))
    others = [sc.about(n) for n in NAMES if n != name]
    assert about.prefix not in {a.prefix for a in others} and about.title not in {a.title for a in others}


def _crafted(fitted) -> bytes:
    """Issue 23: the scenario's own model file with its network settings asking for two layers of 12,000 units
    (the weights left as trained); a scenario without a network gets a table that unpacks to 120 million cells."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from engine import artifacts

    tensors, meta = sc.pack(fitted)
    hints = sc._hints(type(fitted))
    nets = [f.name for f in dataclasses.fields(fitted) if sc._is_module(sc._origin(hints[f.name]))]
    for name in nets:
        if "hidden" in meta[name]:  # the MLPs: a list of layer sizes (or one size)
            hidden = meta[name]["hidden"]
            meta[name] = {**meta[name], "hidden": [12_000, 12_000] if isinstance(hidden, list) else 12_000}
        else:  # the tabular network (engine/tabnet.py): blocks of one width
            meta[name] = {**meta[name], "width": 12_000, "depth": 2}
    if not nets:
        buf = io.BytesIO()
        pq.write_table(pa.table({"k": np.zeros(120_000_000, dtype=np.int8)}), buf, compression="zstd")
        table = next(k for k in tensors if k.endswith(".parquet"))
        tensors[table] = np.frombuffer(buf.getvalue(), dtype=np.uint8)
    return artifacts.to_bytes(fitted.KIND, tensors, meta)


def test_a_crafted_model_file_is_refused_before_anything_is_built(trained):
    """Issue 23: layer sizes are checked against the file's weights before a network is built, so a few kilobytes
    asking for a huge network (or a table unpacking to millions of cells) cost the server nothing."""
    from tests.peak import Peak

    mod, df, columns, fitted = trained
    crafted = _crafted(fitted)
    assert len(crafted) < len(fitted.to_bytes()) + 600_000  # a few kilobytes more than the real file, at most 0.6 MB
    with Peak() as peak, pytest.raises(DataError, match="incomplete or damaged") as err:
        mod.load(crafted)
    assert "Traceback" not in str(err.value)
    assert peak.growth_mb < 100, f"{peak.growth_mb:.0f} MB to refuse a crafted {mod.KIND} file"


def test_the_app_reads_the_one_list():
    from ui import share, training

    assert [a.name for a in sc.abouts()] == NAMES and sc.about("no such page") is None
    assert training.DATA_PARALLEL_PAGES == {a.name for a in sc.abouts() if a.data_parallel}
    assert set(share._VIEW_PREFIXES) == {a.name for a in sc.abouts() if a.subgroups}
    label = sc.about("diagnosis").headline_label
    assert share.headline_words("diagnosis", {"roc_auc": 0.9123}) == f"{label} 0.912"


def test_decide_changes_decisions_not_weights(trained):
    """decide(...) with the scenario's own settings moves its answer, shares the trained weights, leaves the
    original as it was, and the settings travel in the model file."""
    mod, df, columns, fitted = trained
    change, answer = mod.ABOUT.decision.change, mod.ABOUT.decision.answer
    settings = change(fitted)
    rows = _rows(mod, df, 200)
    before = answer(fitted, rows)
    changed = fitted.decide(**settings)
    for k, v in settings.items():
        assert getattr(changed, k) == v and getattr(fitted, k) != v, k
    learned = [
        f.name
        for f in dataclasses.fields(fitted)
        if isinstance(getattr(fitted, f.name), (torch.nn.Module, torch.Tensor, np.ndarray))
    ]
    assert learned and all(getattr(changed, k) is getattr(fitted, k) for k in learned), "the weights are shared"
    after = answer(changed, rows)
    assert not after.equals(before), f"{settings} did not move the answer"
    assert answer(fitted, rows).equals(before), "the original model keeps its decisions"
    reloaded = mod.load(changed.to_bytes())
    assert all(getattr(reloaded, k) == v for k, v in settings.items())
    pd.testing.assert_frame_equal(pd.DataFrame(answer(reloaded, rows)), pd.DataFrame(after))
