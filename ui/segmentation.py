"""Views for the Retail segmentation page: column mapping, segment profiles, map, k scan, drill-down.

Shared pieces (metric cards, SHAP bar/beeswarm/waterfall, downloads) come from ui.results and
ui.charts; what is drawn here exists only on this page.
"""
from __future__ import annotations

import datetime as dt
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from engine import roles
from engine import segmentation as seg
from engine.data import Table
from engine.dictionary import Dictionary
from engine.options import default_of, help_of
from engine.segmentation.fit import LARGE_SHARE, SMALL_SHARE  # the k scan's suggestion weighs the same sizes
from engine.explain import Explanation, format_value
from engine.training import trains_on_gpu
from ui import charts
from ui.errors import guard
from ui.report import appendix, build_report
from ui.results import comparison_table, download_csv, metric_delta
from ui.share import share_panel, update_offer
from ui.state import memo
from ui.options import option_input
from ui.tabular import batch_scoring, dependence_view, model_file_scoring, what_if
from ui.style import BASELINE_COLORS, MODEL_COLOR, NEUTRAL_COLOR, fmt, pct
from ui.text import plain

# Okabe–Ito first (colour-blind safe), then two more distinct hues for k up to 10.
SEGMENT_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
                  "#882255", "#999999"]
NONE_INVOICE = "(none: count each purchase day as one order)"
NONE_QTY = "(none: the price column is the line amount)"
NONE_ID = "(none: number the rows)"
SHAPES = {seg.TRANSACTIONS: "A transaction line (invoice, customer, date, quantity, price)",
          seg.CUSTOMERS: "A customer (a ready customer table, one row each)"}
AUTO_K = "Suggest from the data"
LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=80, b=10),
              legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))
METRIC_HELP = {
    "silhouette": "Silhouette: how much closer customers are to their own segment than to the next one, from -1 to 1. "
                  "Above 0.25 means real structure; above 0.5 means clearly separated groups. Measured on a sample.",
    "inertia": "Inertia: the sum of squared distances from each customer to its segment centre (on the scaled "
               "features). Lower is tighter; only comparable between runs with the same data and number of segments.",
    "inertia_ratio": "Torch k-means inertia divided by scikit-learn's on the same data and k. 1.00 means equally tight "
                     "segments; below 1 is tighter.",
    "ari_vs_baseline": "Adjusted Rand index between the two methods' segments: 1 means they put every customer in the "
                       "same group, 0 means no more agreement than chance.",
    "k": "Number of segments used. The suggestion is the number with the highest silhouette score.",
    "soft_agreement": "Share of customers whose most likely segment under the explained soft assignment is their "
                      "k-means segment (it is 100% by construction; shown as a check).",
}
LABELS = {"silhouette": "Silhouette", "inertia": "Inertia", "iterations": "Iterations"}


def _col(c: str, names: Sequence[str], default: str | None, key: str, label: str, help: str, extra: str | None = None):
    options = ([extra] if extra else []) + list(names)
    index = options.index(default) if default in options else (0 if extra else None)  # required + no guess: ask
    choice = c.selectbox(label, options, index=index, key=key, help=help, placeholder="Pick a column")
    return None if choice == extra else choice


def columns_form(df: pd.DataFrame, fp: str) -> tuple[seg.SegmentationColumns, seg.SegmentationConfig]:
    """Step 2: the shape of the file, each column's role, the number of segments and advanced options."""
    st.subheader("2 · Columns")
    guess, as_tx, as_customers, why = memo("seg_guess", fp, lambda: (seg.default_columns(df), *seg.guess_columns(df),
                                                                   seg.guess_roles(df)))
    names = [str(c) for c in df.columns]
    shape_label = st.radio("What is one row of your file?", list(SHAPES.values()), horizontal=True,
                           index=list(SHAPES).index(guess.shape), key=f"seg_shape_{fp}",
                           help="Transactions are turned into one row per customer (recency, frequency, spend, …). "
                                "A customer table is used as it is.")
    shape = next(k for k, v in SHAPES.items() if v == shape_label)
    if shape == seg.TRANSACTIONS:
        t = as_tx
        c1, c2, c3 = st.columns(3)
        customer = _col(c1, names, t.customer, f"seg_cust_{fp}", "Customer id", "Who bought: rows without it are left out.")
        date = _col(c2, names, t.date, f"seg_date_{fp}", "Invoice date", "When the purchase happened.")
        invoice = _col(c3, names, t.invoice, f"seg_inv_{fp}", "Invoice / order number",
                       "Lines with the same number form one order; numbers starting with 'C' are cancellations.",
                       NONE_INVOICE)
        quantity = _col(c1, names, t.quantity, f"seg_qty_{fp}", "Quantity",
                        "Units on the line; negative numbers are returns.", NONE_QTY)
        price = _col(c2, names, t.price, f"seg_price_{fp}", "Unit price" if quantity else "Line amount",
                     "Price of one unit (or the line's total when there is no quantity column).")
        columns = seg.SegmentationColumns(seg.TRANSACTIONS, customer, invoice, date, quantity, price)
        role_reasons(why, ("customer", "date", "invoice", "quantity", "price"))
    else:
        t = as_customers
        c1, c2 = st.columns([1, 3])
        customer = _col(c1, names, t.customer, f"seg_cid_{fp}", "Customer id (optional)",
                        "Only used to label customers in tables and downloads.", NONE_ID)
        options = [c for c in names if c != customer]
        features = c2.multiselect("Columns to segment by", options, default=[f for f in t.features if f in options],
                                  key=f"seg_feats_{fp}_{customer}",
                                  help="Numbers such as age, income or spend; category columns may be added. "
                                       "Free text and dates cannot be used.")
        columns = seg.SegmentationColumns(seg.CUSTOMERS, customer, features=tuple(features))
        role_reasons(why, ("customer_id",))
        left = roles.left_out(df, features, [customer])
        if left:
            st.caption("Left out of the columns to segment by: " + "; ".join(
                f"'{c}' ({reason})" for c, reason in list(left.items())[:8]) + ("…" if len(left) > 8 else "") + ".")
    c1, c2 = st.columns([1, 2])
    k_choice = c1.selectbox("Number of segments", [AUTO_K, *range(2, seg.K_LIMIT + 1)], key=f"seg_k_{fp}",
                            help=help_of(seg.SegmentationConfig)["k"]["help"])
    c2.caption("Leave it on *Suggest* first: the page tries 2 to 10 segments and picks the number whose segments are "
               "best separated (silhouette). Then try the neighbours of that number and keep what reads best.")
    helps = help_of(seg.SegmentationConfig)
    with st.expander("Advanced options"):
        a1, a2, a3 = st.columns(3)
        restarts = option_input(a1, seg.SegmentationConfig, "restarts", key="seg_restarts")
        seed = option_input(a2, seg.SegmentationConfig, "seed", key="seg_seed")
        log_scale = a3.checkbox(helps["log_scale"]["label"], default_of(seg.SegmentationConfig, "log_scale"),
                                key="seg_log", bind="query-params", help=helps["log_scale"]["help"])
        ref = ""
        if shape == seg.TRANSACTIONS:
            use_ref = a1.checkbox("Count recency from a date I choose", False, key=f"seg_use_ref_{fp}",
                                  help=helps["reference_date"]["help"])
            if use_ref:
                ref = str(a2.date_input(helps["reference_date"]["label"], dt.date.today(), key=f"seg_ref_{fp}"))
    config = seg.SegmentationConfig(k=0 if k_choice == AUTO_K else int(k_choice), restarts=int(restarts),
                                    seed=int(seed), log_scale=log_scale, reference_date=ref)
    return columns, config


ROLE_LABELS = {"customer": "customer id", "date": "invoice date", "invoice": "invoice number", "quantity": "quantity",
               "price": "unit price or amount", "customer_id": "customer id"}


def role_reasons(why: dict[str, roles.Guess], shown: Sequence[str]) -> None:
    """Why each role was preselected (engine.roles says it in words)."""
    parts = [f"{ROLE_LABELS[r]}: '{why[r].column}' ({why[r].why})" if why[r].column else f"{ROLE_LABELS[r]}: {why[r].why}"
             for r in shown]
    st.caption("Preselected " + "; ".join(parts) + ". Change any of them above.")


def prepared_summary(prep: seg.Prepared) -> None:
    c1, c2, c3 = st.columns(3)
    c1.metric("Customers to segment", f"{prep.n_rows.get('customers', len(prep.features)):,}",
              help="One row per customer, built from your file as described below.")
    c2.metric(f"Rows used (of {prep.n_rows.get('rows', 0):,})", f"{prep.n_rows.get('rows used', 0):,}",
              help="Rows left after removing those that cannot be tied to a customer or a price.")
    c3.metric("Features per customer", f"{prep.features.shape[1]:,}", help="Columns k-means measures distances on.")
    with st.expander("What was done to your data", expanded=False):
        for note in prep.notes:
            st.markdown(f"- {plain(note)}")
        if set(seg.RFM_FEATURES) <= set(prep.features.columns):
            for name, text in seg.FEATURE_HELP.items():
                st.markdown(f"- **{name}**: {text}")
        st.dataframe(prep.features.head(20), width="stretch", height=220)


# ----------------------------------------------------------------------------- segments tab


def names_editor(model: seg.SegmentationModel, key: str) -> list[str]:
    """Table of segments with suggested names and actions; the analyst may rename them."""
    prof = model.profile
    frame = pd.DataFrame({
        "segment": range(1, model.k + 1),
        "name": model.names,
        "customers": prof["customers"].iloc[1:].to_numpy(),
        "share of customers": (100 * prof["share of customers"].iloc[1:]).round(1).to_numpy(),
    })
    if "share of revenue" in prof:
        frame["share of revenue"] = (100 * prof["share of revenue"].iloc[1:]).round(1).to_numpy()
    frame["suggested action"] = model.actions
    edited = st.data_editor(
        frame, key=key, hide_index=True, width="stretch", disabled=[c for c in frame.columns if c != "name"],
        column_config={
            "name": st.column_config.TextColumn("name (click to rename)", required=True, max_chars=40),
            "share of customers": st.column_config.NumberColumn(format="%.1f%%"),
            "share of revenue": st.column_config.NumberColumn(format="%.1f%%"),
            "suggested action": st.column_config.TextColumn(width="large"),
        },
    )
    st.caption("Names are suggestions from each segment's recency, frequency and spend (or its most distinctive "
               "columns). Click a name to rename it; the new names carry into every chart and download.")
    names = [str(n).strip() or model.names[i] for i, n in enumerate(edited["name"].tolist())]
    used: set[str] = set()
    for i, n in enumerate(names):  # keep names unique so charts stay readable (and the model accepts them)
        count = 1
        while names[i] in used:
            count += 1
            names[i] = f"{n} ({count})"
        used.add(names[i])
    return names


def headline(model: seg.SegmentationModel) -> None:
    m = model.metrics
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Segments", f"{int(m['k'])}", help=METRIC_HELP["k"],
              delta=None if int(m["k"]) == int(m["suggested_k"]) else f"suggested: {int(m['suggested_k'])}", delta_color="off")
    c2.metric("Customers", f"{int(m['customers']):,}", help="Customers placed in a segment.")
    c3.metric("Silhouette", fmt(m["silhouette"]), help=METRIC_HELP["silhouette"])
    shares = model.profile["share of customers"].iloc[1:]
    c4.metric("Largest segment", pct(float(shares.max())), help="Share of customers in the biggest segment.")


def sizes_chart(model: seg.SegmentationModel, names: Sequence[str]) -> go.Figure:
    prof = model.profile.iloc[1:]
    fig = go.Figure()
    fig.update_layout(title="Segment sizes", yaxis_title="share (%)", height=360, **LAYOUT)
    fig.add_bar(x=list(names), y=100 * prof["share of customers"], name="share of customers",
                marker_color=NEUTRAL_COLOR, hovertemplate="%{x}: %{y:.1f}% of customers<extra></extra>")
    if "share of revenue" in prof:
        fig.add_bar(x=list(names), y=100 * prof["share of revenue"], name="share of revenue (net spend)",
                    marker_color="#009E73", hovertemplate="%{x}: %{y:.1f}% of revenue<extra></extra>")
    charts.legend_on_top(fig)
    fig.update_xaxes(type="category")
    return fig


def profile_table(model: seg.SegmentationModel, names: Sequence[str]) -> pd.DataFrame:
    prof = model.profile.copy()
    prof.index = ["All customers", *names]
    out = pd.DataFrame(index=prof.index)
    out["customers"] = prof["customers"].map(lambda v: f"{int(v):,}")
    out["share of customers"] = prof["share of customers"].map(pct)
    if "share of revenue" in prof:
        out["share of revenue"] = prof["share of revenue"].map(pct)
    for col in model.features:
        if col in prof:
            numeric = pd.api.types.is_numeric_dtype(prof[col])
            out[f"{col} (median)" if numeric else col] = prof[col].map(lambda v, c=col: show(c, v))
    return out


_PLAIN_WORDS = {"year", "yr", "born", "birth", "code", "zip", "postcode", "postal", "id"}  # read as labels, not amounts


def show(col: str, v) -> str:
    """A profile value as an analyst reads it: rates as percentages, counts without decimals, years and codes as
    written (1967, not 1,967)."""
    if col == seg.RETURNS and isinstance(v, (int, float, np.floating)):
        return pct(float(v))
    if isinstance(v, (int, float, np.integer, np.floating)) and np.isfinite(v) and _PLAIN_WORDS & set(roles.words(col)):
        return f"{v:.0f}" if abs(v) >= 1000 or float(v).is_integer() else f"{v:g}"
    return format_value(v)


def comparison_heatmap(model: seg.SegmentationModel, names: Sequence[str]) -> go.Figure:
    """Each segment's centre per column in standard deviations from the average customer; text = median value."""
    z = model.centre_z()
    prof = model.profile  # row 0: all customers
    def compact(c: str, v) -> str:  # a narrow cell: 67,506 reads "67.5k", so neighbouring numbers never run together
        if isinstance(v, (int, float, np.integer, np.floating)) and np.isfinite(v) and abs(v) >= 10_000 \
                and not _PLAIN_WORDS & set(roles.words(c)):
            return f"{v / 1e6:.1f}M" if abs(v) >= 1e6 else f"{v / 1e3:.1f}k"
        return show(c, v)

    text = [[compact(c, prof[c].iloc[j + 1]) if c in prof else "" for c in z.columns] for j in range(model.k)]
    wide = len(z.columns) > 8
    fig = go.Figure()
    fig.update_layout(title="How each segment differs from the average customer", height=max(320, 50 * model.k + 170),
                      **{**LAYOUT, "legend": {}, "margin": dict(l=10, r=10, t=50, b=10)})
    fig.add_heatmap(z=z.to_numpy(), x=[str(c) for c in z.columns], y=list(names), text=text, texttemplate="%{text}",
                    textfont=dict(size=10 if wide else 13),
                    colorscale=[[0, "#0072B2"], [0.5, "#f7f7f7"], [1, "#D55E00"]], zmid=0, zmin=-2.5, zmax=2.5,
                    colorbar=dict(title="std. dev.<br>from average", len=0.8),
                    hovertemplate="%{y} · %{x}<br>median %{text}<br>%{z:+.2f} std. dev. from the average<extra></extra>")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom", tickangle=-25)
    return fig


def map_chart(model: seg.SegmentationModel, names: Sequence[str]) -> tuple[go.Figure, int]:
    pts, centres = model.map_2d()
    ev = model.pca_explained
    fig = go.Figure()
    fig.update_layout(title="Customers on a 2-D map (principal components of the scaled features)", height=560,
                      xaxis_title=f"component 1 ({pct(ev[0], 0)} of the spread)",
                      yaxis_title=f"component 2 ({pct(ev[1], 0)} of the spread)", **LAYOUT)
    for j in range(model.k):
        p = pts[pts["segment"] == j]
        fig.add_scattergl(x=p["pc1"], y=p["pc2"], mode="markers", name=names[j], text=p["customer"],
                          marker=dict(color=SEGMENT_COLORS[j % len(SEGMENT_COLORS)], size=6, opacity=0.65),
                          hovertemplate=f"customer %{{text}}<br>{names[j]}<extra></extra>")
    fig.add_scatter(x=centres["pc1"], y=centres["pc2"], mode="markers", name="segment centres", text=list(names),
                    marker=dict(symbol="x", size=14, color="black", line=dict(width=2, color="white")),
                    hovertemplate="centre of %{text}<extra></extra>")
    for x, y, name in zip(centres["pc1"], centres["pc2"], names):
        fig.add_annotation(x=x, y=y, text=name, showarrow=False, yshift=16, bgcolor="rgba(255,255,255,0.85)",
                           font=dict(size=12, color="black"))
    charts.legend_on_top(fig)
    return fig, len(pts)


# ----------------------------------------------------------------------------- performance tab


def performance_table(model: seg.SegmentationModel) -> pd.DataFrame:
    """Silhouette, inertia and iterations of both methods (iterations are counts: shown without decimals)."""
    def counts(m: dict[str, float]) -> dict:
        return {**m, "iterations": int(m["iterations"])}

    return comparison_table(seg.MODEL, counts(model.metrics), {n: counts(m) for n, m in model.baseline_metrics.items()},
                            ["silhouette", "inertia", "iterations"], LABELS)


STABLE_ARI, UNSTABLE_ARI = 0.9, 0.7  # adjusted Rand index between two independent fits


def stability_sentence(model: seg.SegmentationModel) -> tuple[str, bool]:
    """Do the segments hold when fitted again independently? (scikit-learn's k-means, its own random starts.)"""
    ari = float(model.metrics["ari_vs_baseline"])
    verdict = ("stable: refitting puts customers in the same segments" if ari >= STABLE_ARI else
               "fairly stable: most customers stay in their segment when refitted" if ari >= UNSTABLE_ARI else
               "unstable: many customers move to another segment when refitted, so read the segments with care "
               "(try another number of segments)")
    return (f"**Stability: {verdict}.** A second, independent fit (scikit-learn's k-means with its own random starts) "
            f"agrees with these segments at {ari:.2f} on a 0-to-1 scale (adjusted Rand index; "
            f"{STABLE_ARI:g} and above is stable, below {UNSTABLE_ARI:g} is not).", ari >= UNSTABLE_ARI)


def size_advice(model: seg.SegmentationModel, names: Sequence[str]) -> tuple[str, bool]:
    """Whether the segment sizes are workable: none too small to act on alone, none holding most customers."""
    prof = model.profile.iloc[1:]
    shares = prof["share of customers"].to_numpy(dtype=float)
    counts = prof["customers"].to_numpy()
    small = [j for j, s in enumerate(shares) if s < SMALL_SHARE]
    big = [j for j, s in enumerate(shares) if s > LARGE_SHARE]
    lo, hi = int(np.argmin(shares)), int(np.argmax(shares))
    parts = []
    if small:
        parts.append(" and ".join(f"'{names[j]}' holds only {pct(float(shares[j]))} of customers ({int(counts[j]):,})"
                                  for j in small) +
                     f": under {SMALL_SHARE:.0%}, too small to run a campaign on alone — treat it as a niche or try "
                     "fewer segments")
    if big:
        parts.append(f"'{names[big[0]]}' holds {pct(float(shares[big[0]]))} of customers: more than half, so it may hide "
                     "several groups — try more segments")
    if not parts:
        return (f"**Sizes: workable.** From {pct(float(shares[lo]))} ('{names[lo]}') to {pct(float(shares[hi]))} "
                f"('{names[hi]}') of customers: every segment is large enough to act on and none dominates.", True)
    return "**Sizes: " + "; ".join(parts) + ".**", False


def k_sentence(model: seg.SegmentationModel) -> str:
    """The elbow chart's k and the suggested k, reconciled in one sentence."""
    m = model.metrics
    k, suggested, elbow = int(m["k"]), int(m["suggested_k"]), int(m["elbow_k"])
    scan = model.scan
    top = int(scan.loc[scan["silhouette"].idxmax(), "k"]) if len(scan) else suggested
    if top != suggested:  # the best-separated number leaves a segment too small or too large: the page says so itself
        text = (f"The segments are best separated at {top}, but then a segment is too small to act on or holds more "
                f"than half the customers; the page suggests {suggested}, the best-separated number whose segments are "
                f"all workable sizes (each at least {SMALL_SHARE:.0%}, none over {LARGE_SHARE:.0%})"
                + (f"; the elbow chart bends at {elbow}." if elbow != suggested else ", where the elbow chart bends too."))
    elif elbow == suggested:
        text = (f"The elbow (where more segments stop tightening them much) and the best separation (silhouette) both "
                f"point to {suggested} segments.")
    else:
        text = (f"The elbow chart bends at {elbow} segments, where adding more stops tightening them much, but the "
                f"segments are best separated at {suggested} (highest silhouette); the page suggests {suggested} because "
                f"distinct segments are what you can act on — {elbow} is worth a look too.")
    if k != suggested:
        text += f" You chose {k}."
    return text


def performance(model: seg.SegmentationModel, names: Sequence[str]) -> None:
    """Quality tab: stability and size advice first, the choice of k, then the engine benchmark folded away."""
    m, b = model.metrics, model.baseline_metrics[seg.BASELINE]
    for text, good in (stability_sentence(model), size_advice(model, names)):
        (st.success if good else st.warning)(text, icon=":material/check_circle:" if good else ":material/warning:")
    st.markdown(k_sentence(model))
    st.plotly_chart(scan_chart(model), key="seg_scan")
    st.caption("Left: the elbow curve — where adding a segment stops tightening them much. Right: silhouette — higher "
               "means better separated; the suggested number is its highest point among workable segment sizes.")
    with st.expander("Engine check: torch k-means beside scikit-learn"):
        st.markdown(f"Both methods segment the same **{int(m['customers']):,} customers** into **{int(m['k'])}** segments "
                    f"with {model.config.restarts} restarts each; silhouette is measured on {int(m['sample']):,} of them. "
                    "This checks the app's own k-means against the reference implementation.")
        c1, c2 = st.columns(2)
        c1.metric(f"Silhouette ({seg.MODEL})", fmt(m["silhouette"]), help=METRIC_HELP["silhouette"],
                  **metric_delta(f"{m['silhouette'] - b['silhouette']:+.3f} vs scikit-learn"))
        c2.metric(f"Inertia ({seg.MODEL})", fmt(m["inertia"]), help=METRIC_HELP["inertia"],
                  **metric_delta(f"{m['inertia'] - b['inertia']:+,.2f} vs scikit-learn", lower_is_better=True))
        c1, c2, c3 = st.columns(3)
        c1.metric("Inertia ratio (torch ÷ scikit-learn)", f"{m['inertia_ratio']:.4f}", help=METRIC_HELP["inertia_ratio"])
        c2.metric("Agreement with scikit-learn (ARI)", f"{m['ari_vs_baseline']:.3f}", help=METRIC_HELP["ari_vs_baseline"])
        c3.metric("Time to fit (torch vs scikit-learn)",
                  f"{model.timings[seg.MODEL]:.2f} s vs {model.timings[seg.BASELINE]:.2f} s",
                  help="Wall time of the final k-means on all customers, both on this machine's "
                       f"{'GPU' if trains_on_gpu() else 'CPU'}; bench/segmentation.py measures it at scale.")
        st.dataframe(performance_table(model), width="stretch")
        st.caption("Same customers, same scaled features, same k and restarts for both methods.")


def scan_chart(model: seg.SegmentationModel) -> go.Figure:
    scan = model.scan
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Elbow: inertia by number of segments",
                                                        "Silhouette by number of segments"))
    fig.add_scatter(x=scan["k"], y=scan["inertia"], mode="lines+markers", name="inertia", line=dict(color=MODEL_COLOR),
                    row=1, col=1)
    fig.add_scatter(x=scan["k"], y=scan["silhouette"], mode="lines+markers", name="silhouette",
                    line=dict(color=MODEL_COLOR), row=1, col=2)
    m = model.metrics
    marks = [(int(m["suggested_k"]), "suggested", BASELINE_COLORS[0], 2), (int(m["elbow_k"]), "elbow", NEUTRAL_COLOR, 1)]
    if int(m["k"]) != int(m["suggested_k"]):
        marks += [(int(m["k"]), "your choice", MODEL_COLOR, 1), (int(m["k"]), "your choice", MODEL_COLOR, 2)]
    for k, label, colour, col in marks:
        row = scan[scan["k"] == k]
        if len(row):
            y = "silhouette" if col == 2 else "inertia"
            fig.add_scatter(x=row["k"], y=row[y], mode="markers+text", text=[label], textposition="top center",
                            marker=dict(size=14, color=colour, line=dict(color="black", width=1)), showlegend=False,
                            row=1, col=col)
    fig.update_layout(template="plotly_white", height=360, showlegend=False, margin=dict(l=10, r=10, t=50, b=10))
    fig.update_xaxes(title_text="number of segments", dtick=1)
    return fig


# ----------------------------------------------------------------------------- explanations tab


def global_explanation(exp: Explanation, name: str, key: str, labels: Dictionary | None = None) -> None:
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.shap_bar(exp, names=labels), key=f"{key}_bar")
    c1.caption(f"Longer bars: columns that decide most whether a customer is pulled into '{plain(name)}'.")
    c2.plotly_chart(charts.shap_beeswarm(exp, names=labels), key=f"{key}_swarm")
    c2.caption(f"Dots right of zero pull customers towards '{plain(name)}'; orange dots are high values of that column, blue low.")
    dependence_view(exp, key, labels=labels, row_label="customer")


def customer_picker(model: seg.SegmentationModel, names: Sequence[str], key: str) -> str | None:
    ids = model.customers.index.astype(str)
    labels = model.customers["_segment"].to_numpy()
    limit = 5000
    options = list(ids[:limit])
    c1, c2 = st.columns([2, 1])
    typed = c2.text_input("…or type a customer id", key=f"{key}_typed").strip()
    if typed:
        if typed in set(ids):
            return typed
        c2.warning(f"No customer '{plain(typed)}' in the segmented data.")
    pos = {c: i for i, c in enumerate(ids)}
    return c1.selectbox("Pick a customer", options, key=f"{key}_pick",
                        format_func=lambda c: f"{c} · {names[labels[pos[c]]]}",
                        help=None if len(ids) <= limit else f"The first {limit:,} customers; type any other id beside.")


def membership_waterfall(model: seg.SegmentationModel, cid: str, names: Sequence[str], exp: Explanation, key: str) -> None:
    """One customer's membership of their segment in %, from the average customer's, one column at a time; the pull
    (the soft assignment's logit, compared with the average segment) the bars come from is in the tooltip."""
    j = int(model.customers.loc[cid, "_segment"])
    path = model.membership_path(model.customers.loc[[cid], model.features], j)
    fall = charts.shap_waterfall(exp, 0, probability=path, names=model.dictionary, axis_title=f"membership of '{names[j]}' (%)")
    fall.update_layout(title=f"Why '{names[j]}': from the average customer to this one")
    st.plotly_chart(fall, key=f"{key}_waterfall")
    st.caption(f"Start from the average customer's membership of '{plain(names[j])}'; each bar is one column moving this "
               "customer towards it (orange) or away (blue), in percentage points in the order drawn; the last bar is "
               "this customer's membership. Hover a bar for its pull in the soft assignment's own units (log-odds "
               "compared with the average segment).")


def customer_view(model: seg.SegmentationModel, cid: str, names: Sequence[str], exp: Explanation, proba: np.ndarray,
                  key: str) -> None:
    row = model.customers.loc[cid]
    j = int(row["_segment"])
    st.markdown(f"Customer **{plain(cid)}** is in segment **{j + 1} · {plain(names[j])}** "
                f"({pct(float(proba[j]))} membership under the soft assignment).")
    st.caption(f"Suggested action for this segment: {plain(model.actions[j])}")
    prof = model.profile
    table = pd.DataFrame({
        "this customer": [show(c, row[c]) for c in model.features],
        f"median of '{names[j]}'": [show(c, prof[c].iloc[j + 1]) for c in model.features],
        "median of all customers": [show(c, prof[c].iloc[0]) for c in model.features],
    }, index=model.features)
    c1, c2 = st.columns([3, 2])
    c1.dataframe(table, width="stretch")
    bars = charts.probability_bars({names[i]: float(p) for i, p in enumerate(proba)},
                                   "Membership of each segment (soft assignment)")
    bars.update_xaxes(range=[0, 1.18])
    c2.plotly_chart(bars, key=f"{key}_proba")
    c2.caption("How strongly this customer belongs to each segment; the highest bar is always its k-means segment.")
    membership_waterfall(model, cid, names, exp, key)
    reasons = exp.reasons(0, k=3, up=f"pulls towards '{names[j]}'", down=f"pulls away from '{names[j]}'")
    st.markdown("In words: " + "; ".join(reasons) + ".")


def customer_what_if(model: seg.SegmentationModel, cid: str, names: Sequence[str], key: str) -> None:
    """Edit one customer's recency, frequency, spend (any feature) → the segment they move to, by name, and why: the
    distances to the centres in words and the SHAP of the new segment's pull."""
    st.markdown("**What if this customer changed**")
    st.caption("Change their values — a more recent last purchase, more orders, a higher spend — and see which "
               "segment they would sit in.")
    base = model.customers.loc[cid, model.features]
    exp = model.explain_features(model.customers.loc[[cid], model.features], int(model.customers.loc[cid, "_segment"]))

    def answer(recorded: pd.Series, edited: pd.Series) -> None:
        move = seg.what_if(model, recorded, edited)
        c1, c2 = st.columns(2)
        c1.metric("Segment as recorded", f"{move.before + 1} · {names[move.before]}",
                  help="The segment whose centre is nearest to this customer's values in your data.")
        c2.metric("Segment with your changes", f"{move.after + 1} · {names[move.after]}",
                  delta="moved" if move.moved else None, delta_color="off")
        (st.success if move.moved else st.info)(move.sentence(), icon=":material/swap_horiz:")
        if all(a == b or (pd.isna(a) and pd.isna(b)) for a, b in zip(recorded, edited)):
            return  # nothing changed yet: the waterfall above already says why this segment
        fall = charts.shap_waterfall(move.explanation, 0)
        fall.update_layout(title=f"Why '{names[move.after]}' with your changes",
                           xaxis_title=f"pull towards '{names[move.after]}' (log-odds compared with the average segment)")
        st.plotly_chart(fall, key=f"{key}_wi_waterfall")
        reasons = move.explanation.reasons(0, k=3, up=f"pulls towards '{names[move.after]}'",
                                           down=f"pulls away from '{names[move.after]}'")
        st.markdown("In words: " + "; ".join(reasons) + ".")

    with guard("updating the what-if", stop=False):
        what_if(base, seg.input_plans(model), list(exp.importance().index), lambda d: 0.0, model.explain,
                key=f"{key}_wi_{cid}", answer=answer, names=model.dictionary)


def download_customers(model: seg.SegmentationModel, names: Sequence[str], key: str) -> None:
    table = model.customers_table()
    download_csv(table, f"Download customer → segment ({len(table):,} rows, CSV)", "customer_segments.csv", key)


# ----------------------------------------------------------------------------- results (fresh or shared run)


def results(model: seg.SegmentationModel, key: str, run_id: str | None, dataset_name: str) -> None:
    """Step 4: the tabs, for a model trained now or reopened from a share link (`key` identifies the run)."""
    st.subheader("4 · Results")
    segments, spread, perf, expl, score, share = st.tabs(
        ["Segments", "Map", "Quality", "Explanations", "Score new data", "Share"])

    with segments:
        headline(model)
        model = model.decide(names=names_editor(model, key=f"seg_names_{key}"))  # renamed: saved with the model file
        names = model.names
        update_offer("segmentation", key, model.to_bytes)  # a link created now stores the names as shown
        # one chart per row: beside the sizes, a heatmap of every column per segment had ~180 px and spilled its text
        st.plotly_chart(sizes_chart(model, names), key="seg_sizes")
        st.caption("Grey: share of customers; green: share of net revenue. A small bar next to a tall green one is a "
                   "small group that brings in much of the money." if model.columns.shape == seg.TRANSACTIONS
                   else "Share of customers in each segment.")
        st.plotly_chart(comparison_heatmap(model, names), key="seg_heat")
        st.caption("Orange: well above the average customer, blue: well below (on the scaled, log where stated, features); "
                   "the numbers are each segment's median.")
        st.markdown("**Segment profiles** (medians; categories show the most common value)")
        st.dataframe(profile_table(model, names), width="stretch")
        download_customers(model, names, key="seg_download_segments")

    with spread:
        fig, shown = map_chart(model, names)
        st.plotly_chart(fig, key="seg_map")
        st.caption(f"Each dot is a customer ({shown:,} of {int(model.metrics['customers']):,} shown); customers close together "
                   "buy alike. Overlap here is normal: the map squeezes every feature into two directions.")

    with perf:
        performance(model, names)
        with st.expander("What was done to the data"):
            for note in model.notes:
                st.markdown(f"- {plain(note)}")

    with expl:
        st.info(f"**What is explained:** the *soft assignment* — each segment's pull on a customer is the softmax of "
                "minus the squared distance to its centre. Its most likely segment is the k-means segment for "
                f"{pct(model.metrics['soft_agreement'])} of customers (exact by construction), and because its "
                "scores are linear in the scaled features, the SHAP values are exact and add up to the score.",
                icon=":material/info:")
        st.markdown("**Across customers: what pulls them into a segment**")
        j = st.selectbox("Segment", range(model.k), format_func=lambda i: f"{i + 1} · {names[i]}", key="seg_exp_segment")
        with guard("explaining the segments", stop=False):
            sample = memo("seg_exp_rows", key, lambda: model.customers[model.features].sample(
                min(500, len(model.customers)), random_state=0))
            exp = memo("seg_exp_global", f"{key}_{j}_{names[j]}", lambda: model.explain_features(sample, j), keep=12)
            global_explanation(exp, names[j], key="seg_exp_global", labels=model.dictionary)
        st.markdown("**One customer: why this segment**")
        cid = customer_picker(model, names, key="seg_drill")
        if cid is not None:
            with guard("explaining this customer", stop=False):
                one = model.customers.loc[[cid], model.features]
                seg_j = int(model.customers.loc[cid, "_segment"])
                exp_one = model.explain_features(one, seg_j)
                _, proba = model.assign(model.encode(one))
                customer_view(model, cid, names, exp_one, proba[0], key="seg_drill")
            customer_what_if(model, cid, names, key="seg")

    with score:
        score_new_data(model, "seg")

    with share:
        share_panel("segmentation", run_id, memo("seg_model_file", f"{key}_{names}_{model.dictionary.digest()}", model.to_bytes),
                    "segmentation_model.safetensors",
                    report=lambda: report(model, names, dataset_name))
        download_customers(model, names, key="seg_download_share")
        st.caption("The model file, the report, the CSV downloads and a link created now carry the segment names as "
                   "shown (including names you changed); a link created before a rename keeps the names it had.")


def report(model: seg.SegmentationModel, names: Sequence[str], dataset_name: str) -> str:
    """A self-contained HTML report of the segments, with the names on screen."""
    m, b = model.metrics, model.baseline_metrics[seg.BASELINE]
    seg_table = pd.DataFrame({"segment": names, "customers": model.profile["customers"].iloc[1:].to_numpy(),
                              "suggested action": model.actions})
    fig_map, _ = map_chart(model, names)
    perf = performance_table(model)
    sections = [
        ("Segments", [f"{int(m['customers']):,} customers in {int(m['k'])} segments (suggested by silhouette: {int(m['suggested_k'])}).",
                      seg_table, sizes_chart(model, names), comparison_heatmap(model, names)]),
        ("Stability and sizes", [stability_sentence(model)[0].replace("**", ""), size_advice(model, names)[0].replace("**", ""),
                                 k_sentence(model)]),
        ("Profiles (medians)", [profile_table(model, names)]),
        ("Map", ["Customers on the first two principal components of the scaled features.", fig_map]),
        ("Engine check: torch k-means beside scikit-learn KMeans",
         [f"Inertia ratio {m['inertia_ratio']:.4f}; agreement (adjusted Rand index) {m['ari_vs_baseline']:.3f}; "
          f"silhouette {m['silhouette']:.3f} vs {b['silhouette']:.3f}.", perf, scan_chart(model)]),
        ("What was done to the data", list(model.notes)),
    ]
    sections.append(appendix(model.columns, model.config, names=model.dictionary))
    sizes = model.profile["customers"].iloc[1:].to_numpy()
    biggest = sorted(zip(sizes, names), reverse=True)[:3]
    lead = [f"{int(m['customers']):,} customers fall into {int(m['k'])} segments; the largest: "
            + ", ".join(f"'{n}' ({int(c):,}, {100 * c / max(sizes.sum(), 1):.0f}%)" for c, n in biggest) + ".",
            stability_sentence(model)[0].replace("**", "")]
    return build_report(f"Retail segmentation: {int(m['k'])} segments", sections, subtitle=f"dataset {dataset_name}",
                        lead=lead)


def required_columns(model: seg.SegmentationModel) -> list[str]:
    """The columns a file to score needs: the transaction roles, or the customer table's features."""
    columns = model.columns
    return ([c for c in columns.transaction_roles.values() if c] if columns.shape == seg.TRANSACTIONS
            else list(model.features))


def scoring_caption(model: seg.SegmentationModel) -> str:
    required = required_columns(model)
    return (f"Upload a CSV with the columns {', '.join(required[:10])}{'…' if len(required) > 10 else ''}: each customer "
            "in it gets the segment whose centre is nearest and the top reasons, one row per customer in the download. "
            + ("Recency counts back from the day after the new file's last invoice unless the model has a reference "
               "date." if model.columns.shape == seg.TRANSACTIONS else ""))


def score_new_data(model: seg.SegmentationModel, key: str) -> None:
    """Upload customers (transactions or a customer table, as trained) → their segments as a CSV."""
    batch_scoring(key, model.score, required_columns(model), "segments_scored.csv", caption=scoring_caption(model))


def score_with_model_file() -> None:
    """Assign new customers with a model file saved earlier from this page — no training."""
    model_file_scoring("seg", seg.load, "segments_scored.csv",
                       describe=lambda m: f"{m.k} segments ({', '.join(m.names)}) found among "
                                          f"{int(m.metrics['customers']):,} customers from {len(m.features)} features",
                       required=required_columns, caption=scoring_caption)


def shared_results(model: seg.SegmentationModel, table: Table, key: str, run_id: str | None) -> None:
    """A shared run's results: the per-customer data is rebuilt from its dataset once (never stored in model files)."""
    results(memo("seg_shared", key, lambda: model.attach(table.df), keep=1), key, run_id, table.name)
