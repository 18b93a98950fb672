"""Segmentation engine: RFM by hand, torch k-means against the truth and against scikit-learn, save/load, SHAP, bad input."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_score

from engine import segmentation as seg
from engine.data import DataError, load_table
from engine.segmentation import clustering
from engine.training import Cancelled
from tests.conftest import SAMPLES

LEGACY = Path(__file__).resolve().parent.parent / "data" / "legacy"
RETAIL = SAMPLES / "online_retail_transactions.csv.gz"
MALL = SAMPLES / "mall_customers.csv"


@pytest.fixture(scope="module")
def retail() -> pd.DataFrame:
    return load_table(RETAIL).df


@pytest.fixture(scope="module")
def retail_model(retail):
    return seg.fit(retail, seg.default_columns(retail), seg.SegmentationConfig(k=4))


def _blobs(n=900, k=4, d=3, seed=0):
    X, y = make_blobs(n, d, centers=k, cluster_std=0.6, center_box=(-10, 10), random_state=seed)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(d)])
    df.insert(0, "customer", [f"c{i}" for i in range(n)])
    return df, y


# ----------------------------------------------------------------------------- RFM from raw rows


def test_rfm_matches_a_hand_computation_on_a_tiny_file():
    df = pd.DataFrame(
        {
            "Invoice": ["1", "1", "2", "C3", "4", "5", "6", "7"],
            "Customer": [10, 10, 10, 10, 20, 20, None, 30],
            "Date": [
                "2024-01-01 10:00",
                "2024-01-01 10:00",
                "2024-01-20 09:00",
                "2024-01-25 12:00",
                "2024-01-05",
                "2024-01-30 18:00",
                "2024-01-31",
                "2024-01-15",
            ],
            "Qty": [2, 1, 5, -1, 3, 1, 4, 10],
            "Price": [10.0, 4.0, 2.0, 10.0, 5.0, 0.0, 1.0, 1.5],
        }
    )
    cols = seg.SegmentationColumns(seg.TRANSACTIONS, "Customer", "Invoice", "Date", "Qty", "Price")
    prep = seg.transactions_to_customers(df, cols)
    f = prep.features
    # reference: the day after the last invoice line of a known customer (20's free item on 01-30);
    # the guest's line on 01-31 does not count
    assert prep.reference_date == "2024-01-31"
    # customer 10: buys on 01-01 (2*10 + 1*4 = 24) and 01-20 (5*2 = 10), returns 1*10 on 01-25
    assert f.loc["10", seg.RECENCY] == 11 and f.loc["10", seg.TENURE] == 30
    assert f.loc["10", seg.FREQUENCY] == 2
    assert f.loc["10", seg.MONETARY] == pytest.approx(34 - 10)
    assert f.loc["10", seg.BASKET] == pytest.approx(17)
    assert f.loc["10", seg.RETURNS] == pytest.approx(10 / 34)
    # customer 20: one purchase of 15 on 01-05; the 0-price line is dropped
    assert f.loc["20", seg.RECENCY] == 26 and f.loc["20", seg.FREQUENCY] == 1
    assert f.loc["20", seg.MONETARY] == pytest.approx(15) and f.loc["20", seg.RETURNS] == 0
    assert f.loc["30", seg.MONETARY] == pytest.approx(15) and f.loc["30", seg.RECENCY] == 16
    assert "Dropped 1 of 8 rows" in " ".join(prep.notes)  # the row without a customer
    assert any("zero or negative unit price" in n for n in prep.notes)


def test_rfm_matches_a_hand_computation_on_the_sample(retail):
    cols = seg.default_columns(retail)
    prep = seg.transactions_to_customers(retail, cols)
    raw = retail.dropna(subset=["CustomerID"])
    ref = pd.to_datetime(raw["InvoiceDate"]).max().normalize() + pd.Timedelta(days=1)
    raw = raw[(raw["UnitPrice"] > 0) & (raw["Quantity"] != 0)]
    assert prep.reference_date == str(ref.date())
    rng = np.random.default_rng(1)
    for cid in rng.choice(prep.features.index.to_numpy(), 6, replace=False):
        rows = raw[raw["CustomerID"] == int(cid)]
        buys, rets = [], []
        for _, r in rows.iterrows():  # by hand, one line at a time
            is_return = r["Quantity"] < 0 or str(r["InvoiceNo"]).upper().startswith("C")
            (rets if is_return else buys).append(r)
        bought = sum(r["Quantity"] * r["UnitPrice"] for r in buys)
        returned = sum(abs(r["Quantity"] * r["UnitPrice"]) for r in rets)
        days = [pd.Timestamp(r["InvoiceDate"]).normalize() for r in buys]
        orders = len({r["InvoiceNo"] for r in buys})
        got = prep.features.loc[cid]
        assert got[seg.RECENCY] == (ref - max(days)).days
        assert got[seg.TENURE] == (ref - min(days)).days
        assert got[seg.FREQUENCY] == orders
        assert got[seg.MONETARY] == pytest.approx(max(bought - returned, 0.0), rel=1e-9)
        assert got[seg.BASKET] == pytest.approx(bought / orders, rel=1e-9)
        assert got[seg.RETURNS] == pytest.approx(min(returned / bought, 1.0), rel=1e-9)


def test_sample_notes_say_what_was_dropped(retail):
    prep = seg.prepare(retail, seg.default_columns(retail))
    text = " ".join(prep.notes)
    assert "45,357" in text and "without a customer id" in text
    assert "cancellation or return rows" in text
    assert len(prep.features) > 1200


def test_default_columns_detect_the_shape(retail):
    cols = seg.default_columns(retail)
    assert (cols.shape, cols.customer, cols.invoice, cols.date, cols.quantity, cols.price) == (
        seg.TRANSACTIONS,
        "CustomerID",
        "InvoiceNo",
        "InvoiceDate",
        "Quantity",
        "UnitPrice",
    )
    mall = seg.default_columns(load_table(MALL).df)
    assert mall.shape == seg.CUSTOMERS and mall.customer == "CustomerID"
    assert set(mall.features) == {"Age", "Annual Income (k$)", "Spending Score (1-100)"}


# ----------------------------------------------------------------------------- k-means


def test_kmeans_recovers_well_separated_blobs():
    df, y = _blobs()
    res = seg.kmeans(df[["f0", "f1", "f2"]].to_numpy(np.float32), 4, restarts=4, seed=0)
    assert adjusted_rand_score(y, res.labels.cpu().numpy()) >= 0.95


def test_fit_suggests_the_true_k_on_blobs_and_matches_the_truth():
    df, y = _blobs(k=5)
    cols = seg.SegmentationColumns(seg.CUSTOMERS, "customer", features=("f0", "f1", "f2"))
    model = seg.fit(df, cols, seg.SegmentationConfig(log_scale=False))
    assert model.metrics["suggested_k"] == 5 and model.k == 5
    labels = model.customers["_segment"].to_numpy()
    assert adjusted_rand_score(y, labels) >= 0.95
    assert model.metrics["ari_vs_baseline"] >= 0.95


@pytest.mark.parametrize("k", [4, 6])
def test_torch_inertia_within_one_percent_of_sklearn_on_the_sample(retail, k):
    model = seg.fit(retail, seg.default_columns(retail), seg.SegmentationConfig(k=k))
    assert model.metrics["inertia_ratio"] <= 1.01
    sk = KMeans(n_clusters=k, n_init=10, random_state=0).fit(model.X)
    assert model.metrics["inertia"] <= 1.01 * sk.inertia_


def test_chunked_distances_give_the_same_result(monkeypatch):
    df, _ = _blobs(n=700)
    X = df[["f0", "f1", "f2"]].to_numpy(np.float32)
    whole = seg.kmeans(X, 4, restarts=3, seed=3)
    monkeypatch.setattr(clustering, "_chunk", lambda n_cols, device: 64)  # many tiny blocks
    chunked = seg.kmeans(X, 4, restarts=3, seed=3)
    assert torch.equal(whole.labels, chunked.labels)
    assert chunked.inertia == pytest.approx(whole.inertia, rel=1e-5)


def test_kmeans_with_duplicate_points_and_k_equal_to_distinct_rows():
    X = np.repeat(np.array([[0, 0], [5, 5], [0, 9]], np.float32), 50, axis=0)
    res = seg.kmeans(X, 3, restarts=5, seed=0)
    assert res.inertia == pytest.approx(0.0, abs=1e-3)
    assert len(set(res.labels.tolist())) == 3


def test_silhouette_matches_sklearn():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    labs = [rng.integers(0, k, 400) for k in (2, 3, 7)]
    ours = seg.silhouette_scores(X, labs)
    for lab, s in zip(labs, ours):
        assert s == pytest.approx(silhouette_score(X, lab), abs=1e-4)


def test_elbow_index():
    assert seg.elbow_index([100, 50, 20, 15, 12, 10]) == 2


def test_same_seed_same_segments(retail):
    cols = seg.default_columns(retail)
    a = seg.fit(retail, cols, seg.SegmentationConfig(k=5, seed=7))
    b = seg.fit(retail, cols, seg.SegmentationConfig(k=5, seed=7))
    assert np.array_equal(a.customers["_segment"].to_numpy(), b.customers["_segment"].to_numpy())
    assert a.names == b.names


def test_cancel_stops_the_fit(retail):
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        seg.fit(retail, seg.default_columns(retail), cancel=stop)


# ----------------------------------------------------------------------------- the fitted model


def test_model_reports_profiles_names_and_baseline(retail_model):
    m = retail_model
    assert m.k == 4 and len(m.names) == 4 and len(set(m.names)) == 4 and all(m.actions)
    assert m.profile.loc["All customers", "share of revenue"] == pytest.approx(1.0)
    assert m.profile["share of revenue"].iloc[1:].sum() == pytest.approx(1.0)
    assert "Champions" in m.names  # the top spenders get the classic name
    champions = m.profile.loc["Champions"]
    assert champions[seg.MONETARY] > m.profile.loc["All customers", seg.MONETARY]
    assert set(m.baseline_metrics) == {seg.BASELINE}
    assert m.metrics["soft_agreement"] == 1.0 and 0 < m.metrics["silhouette"] < 1
    assert list(m.scan["k"]) == list(range(2, 11)) and m.suggested_k in range(2, 11)
    pts, centres = m.map_2d(max_points=500)
    assert len(pts) == 500 and len(centres) == 4
    assert set(m.log_columns) >= {seg.MONETARY, seg.FREQUENCY}


def test_save_load_predicts_the_same(retail, retail_model, tmp_path):
    path = tmp_path / "seg.safetensors"
    retail_model.save(path)
    loaded = seg.load(path)
    a = retail_model.predict(retail)
    b = loaded.predict(retail)
    pd.testing.assert_frame_equal(a, b)
    assert (a["segment"].to_numpy() - 1 == retail_model.customers["_segment"].to_numpy()).all()
    assert loaded.names == retail_model.names and loaded.metrics == retail_model.metrics
    assert loaded.customers is None  # no customer data in the file


def test_a_loaded_model_reattaches_to_its_data(retail, retail_model):
    loaded = seg.load(retail_model.to_bytes()).attach(retail)
    assert np.array_equal(loaded.customers["_segment"].to_numpy(), retail_model.customers["_segment"].to_numpy())
    pts, _ = loaded.map_2d()
    assert len(pts) == len(retail_model.customers)
    pd.testing.assert_frame_equal(loaded.customers_table(), retail_model.customers_table())


def test_predict_accepts_a_customer_feature_table(retail_model):
    feats = retail_model.customers[retail_model.features].reset_index()
    out = retail_model.predict(feats.rename(columns={"customer": "CustomerID"}))
    assert (out["segment"].to_numpy() - 1 == retail_model.customers["_segment"].to_numpy()).all()


@pytest.mark.shap
def test_shap_of_the_soft_assignment_is_exact(retail_model):
    pytest.importorskip("shap")
    rows = retail_model.customers[retail_model.features].iloc[:50]
    for j in range(retail_model.k):
        exp = retail_model.explain(rows, output=j)
        logits = retail_model.soft_model()(torch.as_tensor(retail_model.encode(rows))).detach().numpy()[:, j]
        assert np.abs(exp.outputs - logits).max() < 1e-4
        assert exp.feature_names == retail_model.features
    one = retail_model.explain(rows.iloc[[0]])
    assert "pull towards" in one.output_name
    assert one.output_name.endswith(f"'{retail_model.names[int(retail_model.customers['_segment'].iloc[0])]}'")


def test_customer_table_mode_on_the_mall_sample():
    df = load_table(MALL).df
    cols = seg.SegmentationColumns(
        seg.CUSTOMERS, "CustomerID", features=("Genre", "Annual Income (k$)", "Spending Score (1-100)")
    )
    model = seg.fit(df, cols, seg.SegmentationConfig(k=5))
    assert model.k == 5 and model.profile.loc["All customers", "customers"] == 200
    assert "Genre" in model.features and model.metrics["inertia_ratio"] <= 1.02
    assert all("(1-100)" not in n for n in model.names)  # units left out of names


# ----------------------------------------------------------------------------- bad input


TX = seg.SegmentationColumns(seg.TRANSACTIONS, "cust", "inv", "date", "qty", "price")


def _tx(n_customers=5, **over):
    rows = []
    for c in range(n_customers):
        for i in range(3):
            rows.append(
                {
                    "inv": f"{c}{i}",
                    "cust": c,
                    "date": f"2024-01-{1 + 3 * i + c:02d}",
                    "qty": 1 + i + c,
                    "price": 2.0 + c,
                }
            )
    df = pd.DataFrame(rows)
    for k, v in over.items():
        df[k] = v
    return df


@pytest.mark.parametrize(
    "make, columns, config, words",
    [
        (lambda: _tx().drop(columns=["price"]), TX, seg.SegmentationConfig(), "no column for the price 'price'"),
        (lambda: _tx(date="not a date"), TX, seg.SegmentationConfig(), "could not be read as dates"),
        (lambda: _tx(date=20240101), TX, seg.SegmentationConfig(), "holds numbers"),
        (lambda: _tx(qty=-3), TX, seg.SegmentationConfig(), "zero or negative"),
        (lambda: _tx(qty="lots"), TX, seg.SegmentationConfig(), "should hold numbers"),
        (lambda: _tx(), TX, seg.SegmentationConfig(k=8), "only 5 customers"),
        (lambda: _tx(n_customers=1), TX, seg.SegmentationConfig(), "only one customer"),
        (lambda: _tx(cust=None), TX, seg.SegmentationConfig(), "empty in every row"),
        (
            lambda: _tx(),
            seg.SegmentationColumns(seg.TRANSACTIONS, "cust", "inv", "date", "qty", "cust"),
            seg.SegmentationConfig(),
            "more than one role",
        ),
        (
            lambda: _tx(),
            seg.SegmentationColumns(seg.TRANSACTIONS, "cust", None, "date", None, None),
            seg.SegmentationConfig(),
            "Pick the unit price (or line amount) column",
        ),
        (
            lambda: pd.DataFrame({"name": [f"n{i}" for i in range(30)], "town": [f"t{i}" for i in range(30)]}),
            seg.SegmentationColumns(seg.CUSTOMERS, None, features=("name", "town")),
            seg.SegmentationConfig(),
            "none of the chosen",
        ),
        (
            lambda: pd.DataFrame({"a": [1.0] * 30, "b": [2] * 30}),
            seg.SegmentationColumns(seg.CUSTOMERS, features=("a", "b")),
            seg.SegmentationConfig(),
            "same value",
        ),
        (
            lambda: pd.DataFrame({"a": [1.0, 2.0] * 15, "b": [2] * 30}),
            seg.SegmentationColumns(seg.CUSTOMERS, features=("a", "b")),
            seg.SegmentationConfig(k=3),
            "only 2 customers have different values",
        ),
        (
            lambda: pd.DataFrame({"id": [1, 1, 2], "x": [1.0, 2.0, 3.0]}),
            seg.SegmentationColumns(seg.CUSTOMERS, "id", features=("x",)),
            seg.SegmentationConfig(),
            "one row per customer",
        ),
        (
            lambda: pd.DataFrame({"x": [1.0, 2.0, 3.0]}),
            seg.SegmentationColumns(seg.CUSTOMERS, features=()),
            seg.SegmentationConfig(),
            "Pick at least one column",
        ),
        (
            lambda: pd.DataFrame({"x": [1.0, 2.0, 3.0], "note": ["a b c", "d e f", "g h i"]}),
            seg.SegmentationColumns(seg.CUSTOMERS, features=("x", "note")),
            seg.SegmentationConfig(),
            "free text",
        ),
    ],
)
def test_bad_input_is_a_sentence(make, columns, config, words):
    with pytest.raises(DataError) as err:
        seg.fit(make(), columns, config)
    assert words.lower() in err.value.message.lower(), err.value.message


def test_a_few_unreadable_dates_are_dropped_with_a_note():
    df = _tx(n_customers=20)
    df.loc[3, "date"] = "someday"
    prep = seg.prepare(df, TX)
    assert any("could not be read" in n and "someday" in n for n in prep.notes)


def test_one_constant_column_is_left_out_with_a_note():
    df, _ = _blobs(n=200)
    df["same"] = 1.0
    model = seg.fit(
        df,
        seg.SegmentationColumns(seg.CUSTOMERS, "customer", features=("f0", "f1", "same")),
        seg.SegmentationConfig(k=3),
    )
    assert "same" not in model.features and any("same" in n for n in model.notes)


def test_loading_a_foreign_file_is_a_sentence():
    with pytest.raises(DataError):
        seg.load(b"not a model at all")


# ----------------------------------------------------------------------------- the scenario contract


def test_a_model_file_of_the_first_version_still_loads_and_predicts_the_same():
    model = seg.load(LEGACY / "segmentation_v1.safetensors")
    rows = pd.read_csv(LEGACY / "segmentation_v1_input.csv")
    expected = pd.read_csv(LEGACY / "segmentation_v1_expected.csv", dtype={"customer": str})
    pd.testing.assert_frame_equal(model.predict(rows), expected, check_dtype=False)
    assert list(model.scan["k"]) == [2, 3, 4] and model.history.epochs == []
    assert set(model.timings) == {seg.MODEL, seg.BASELINE} and "seconds" not in model.metrics
    assert model.profile.index[0] == "All customers" and list(model.profile.index[1:]) == model.names


def test_renamed_segments_are_a_decision_saved_with_the_model(retail, retail_model):
    names = [f"group {i}" for i in range(retail_model.k)]
    renamed = retail_model.decide(names=names)
    assert renamed.centers is retail_model.centers and retail_model.names != names, "weights shared, original kept"
    pred = renamed.predict(retail)
    assert set(pred["segment_name"]) <= set(names)
    assert list(renamed.profile.index[1:]) == names
    again = seg.load(renamed.to_bytes())
    assert again.names == names
    pd.testing.assert_frame_equal(again.predict(retail), pred)
    assert renamed.explain(retail_model.customers.iloc[:5], output="group 2").output_name == "pull towards 'group 2'"
    with pytest.raises(ValueError):
        retail_model.decide(names=["only one"])


def test_the_k_scan_is_not_kept_as_epochs(retail_model):
    assert retail_model.history.epochs == []
    scan = retail_model.scan
    assert list(scan.columns) == ["k", "inertia", "silhouette", "workable"]
    pool = scan[scan["workable"]] if scan["workable"].any() else scan
    assert retail_model.suggested_k == pool.loc[pool["silhouette"].idxmax(), "k"]
    assert not any("second" in k for k in retail_model.metrics)
    assert retail_model.timings[seg.MODEL] > 0 and retail_model.timings[seg.BASELINE] > 0


@pytest.mark.shap
def test_score_explains_each_customer_towards_their_own_segment(retail, retail_model):
    pytest.importorskip("shap")
    some = retail[retail["CustomerID"].isin(retail["CustomerID"].dropna().unique()[:12])]
    scored = retail_model.score(some)
    assert list(scored.columns[:4]) == ["customer", "segment", "segment_name", "membership"]
    for _, row in scored.iterrows():
        assert f"towards '{row['segment_name']}'" in row["top reasons"] or "away from" in row["top reasons"]
        assert all(f"'{row['segment_name']}'" in part for part in row["top reasons"].split("; "))


@pytest.mark.shap
def test_membership_path_runs_from_the_average_customer_to_this_ones_membership(retail_model):
    """The waterfall's % (issue 18): with every column it is the customer's soft-assignment membership, with none the
    average customer's, and each column moves it a finite number of points."""
    pytest.importorskip("shap")
    m = retail_model
    one = m.customers[m.features].iloc[[3]]
    j = int(m.customers["_segment"].iloc[3])
    path = m.membership_path(one, j)
    _, proba = m.assign(m.encode(one))
    assert path(m.features) == pytest.approx(float(proba[0, j]), abs=1e-4)
    start = path([])
    assert 0 < start < 1 and start != pytest.approx(path(m.features), abs=1e-3)
    assert all(0 <= path(m.features[:i]) <= 1 for i in range(len(m.features) + 1))


def test_options_check_their_limits():
    with pytest.raises(ValueError, match="Fewest segments"):
        seg.SegmentationConfig(k_min=6, k_max=4)
    with pytest.raises(ValueError, match="Number of segments"):
        seg.SegmentationConfig(k=11)


def _marketing(n: int = 60) -> pd.DataFrame:
    """The shape of the marketing customer table from issue 15: `ID`, `Year_Birth`, …, `Dt_Customer` (an
    enrolment date shared by several customers)."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2012-08-01", periods=10, freq="7D").strftime("%d-%m-%Y")
    return pd.DataFrame(
        {
            "ID": rng.permutation(np.arange(1000, 1000 + 40 * n, 40)),
            "Year_Birth": rng.integers(1950, 2000, n),
            "Education": rng.choice(["Graduation", "PhD", "Master"], n),
            "Marital_Status": rng.choice(["Single", "Married", "Together"], n),
            "Income": rng.normal(52_000, 15_000, n).round(),
            "Kidhome": rng.integers(0, 3, n),
            "Teenhome": rng.integers(0, 3, n),
            "Dt_Customer": rng.choice(days, n),
            "Recency": rng.integers(0, 100, n),
            "MntWines": rng.gamma(2.0, 150.0, n).round(),
            "MntFruits": rng.gamma(2.0, 15.0, n).round(),
            "NumWebPurchases": rng.integers(0, 12, n),
            "Z_CostContact": 3,
        }
    )


def test_the_marketing_customer_table_opens_with_its_id_column(tmp_path):
    path = tmp_path / "marketing_campaign.csv"
    _marketing().to_csv(path, sep="\t", index=False)
    df = load_table(path).df
    cols = seg.default_columns(df)
    assert cols.shape == seg.CUSTOMERS and cols.customer == "ID"
    assert "Dt_Customer" not in cols.features and "ID" not in cols.features and "Income" in cols.features
    assert "identifier" in seg.guess_roles(df)["customer_id"].why
    prep = seg.prepare(df, cols)  # used to fail: "Customer '13-11-2012' appears in 6 rows"
    assert len(prep.features) == len(df)


def test_what_if_a_customer_given_another_segments_centre_moves_there(retail_model):
    """Set a customer's values to another segment's centre → the customer moves to that segment, by name, nearer to
    its centre than before, and the explanation is of the new segment's pull; unchanged → stays."""
    model = retail_model
    customers = model.customers
    cid = customers.index[0]
    base = customers.loc[cid, model.features]
    own = int(customers.loc[cid, "_segment"])
    same = seg.what_if(model, base, base.copy())
    assert same.before == same.after == own and not same.moved and "stays in" in same.sentence()
    assert same.proba_after == pytest.approx(same.proba_before)
    for j in [s for s in range(model.k) if s != own]:
        edited = base.copy()
        centre = seg.centre_values(model, j)
        edited[centre.index] = centre.to_numpy()
        move = seg.what_if(model, base, edited)
        assert move.before == own and move.after == j and move.moved
        assert move.distance_after[j] < move.distance_before[j] and move.distance_after[j] == pytest.approx(0, abs=1e-3)
        assert move.proba_after[j] > move.proba_before[j]
        assert f"moves from '{model.names[own]}' to '{model.names[j]}'" in move.sentence()
        assert model.names[j] in move.explanation.output_name
        # exact SHAP: the pull towards the new segment adds up
        logit = model.soft_model()(
            torch.as_tensor(model.encode(edited.to_frame().T.astype(float)), dtype=torch.float32)
        ).detach()
        assert move.explanation.values[0].sum() + move.explanation.base_value == pytest.approx(
            float(logit[0, j]), abs=1e-3
        )


def test_what_if_inputs_read_the_analysts_units(retail_model):
    """Log-scaled columns offer their median and training range in raw units (the 'outside the data' badge)."""
    model = retail_model
    plans = {p.name: p for p in seg.input_plans(model)}
    assert model.log_columns
    for c in model.features:
        x = model.customers[c].astype(float)
        assert plans[c].low == pytest.approx(x.min(), rel=1e-6, abs=1e-6)
        assert plans[c].high == pytest.approx(x.max(), rel=1e-6, abs=1e-6)
        assert plans[c].median == pytest.approx(x.median(), rel=1e-6, abs=1e-6)


def test_the_suggested_k_agrees_with_the_size_warnings_and_names_read_as_words():
    """Two close groups of 45% each and a far one of 10%: 2 segments separate best (silhouette) but one holds 90%,
    which the page warns about; the suggestion is the best-separated k whose segments are all workable sizes."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 1.0, (s, 2)) for c, s in (((0, 0), 270), ((3, 0), 270), ((40, 0), 60))])
    df = pd.DataFrame(
        {"customer": [f"c{i}" for i in range(len(X))], "MntMeatProducts": X[:, 0], "Year_Birth": 1960 + X[:, 1]}
    )
    cols = seg.SegmentationColumns(seg.CUSTOMERS, "customer", features=("MntMeatProducts", "Year_Birth"))
    model = seg.fit(df, cols, seg.SegmentationConfig(log_scale=False))
    scan = model.scan.set_index("k")
    assert scan["silhouette"].idxmax() == 2 and not scan.loc[2, "workable"]
    assert model.suggested_k == 3 and scan.loc[3, "workable"]
    shares = np.bincount(model.customers["_segment"]) / len(df)
    assert shares.max() <= 0.5 and shares.min() >= 0.05
    words = " ".join(model.names + model.actions)
    assert "mntmeatproducts" not in words.lower() and "spend on meat products" in words
    assert "year_birth" not in words.lower()
