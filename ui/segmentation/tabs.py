"""Step 4 of the segmentation page: the results tabs of a run trained now or opened from a share link, the report,
the customer → segment download, and scoring new customers with the trained model or with a model file."""

from __future__ import annotations

from typing import Sequence

import pandas as pd
import streamlit as st

from engine import segmentation as seg
from engine.data import Table
from ui.errors import guard
from ui.report import appendix, build_report
from ui.results import download_csv
from ui.segmentation.explanations import customer_picker, customer_view, customer_what_if, global_explanation
from ui.segmentation.profiles import comparison_heatmap, headline, map_chart, names_editor, profile_table, sizes_chart
from ui.segmentation.quality import (
    k_sentence,
    performance,
    performance_table,
    scan_chart,
    size_advice,
    stability_sentence,
)
from ui.share import share_panel, update_offer
from ui.state import memo
from ui.style import pct
from ui.tabular import batch_scoring, model_file_scoring
from ui.text import plain


def download_customers(model: seg.SegmentationModel, names: Sequence[str], key: str) -> None:
    table = model.customers_table()
    download_csv(table, f"Download customer → segment ({len(table):,} rows, CSV)", "customer_segments.csv", key)


def _segments(model: seg.SegmentationModel, key: str) -> tuple[seg.SegmentationModel, list[str]]:
    """The Segments tab: the headline, the names editor, sizes, the heatmap and the profiles; returns the model with
    the names as shown, and those names."""
    headline(model)
    model = model.decide(names=names_editor(model, key=f"seg_names_{key}"))  # renamed: saved with the model file
    names = model.names
    update_offer("segmentation", key, model.to_bytes)  # a link created now stores the names as shown
    # one chart per row: beside the sizes, a heatmap of every column per segment had ~180 px and spilled its text
    st.plotly_chart(sizes_chart(model, names), key="seg_sizes")
    st.caption(
        "Grey: share of customers; green: share of net revenue. A small bar next to a tall green one is a "
        "small group that brings in much of the money."
        if model.columns.shape == seg.TRANSACTIONS
        else "Share of customers in each segment."
    )
    st.plotly_chart(comparison_heatmap(model, names), key="seg_heat")
    st.caption(
        "Orange: well above the average customer, blue: well below (on the scaled, log where stated, features); "
        "the numbers are each segment's median."
    )
    st.markdown("**Segment profiles** (medians; categories show the most common value)")
    st.dataframe(profile_table(model, names), width="stretch")
    download_customers(model, names, key="seg_download_segments")
    return model, names


def _explanations(model: seg.SegmentationModel, names: Sequence[str], key: str) -> None:
    """The Explanations tab: what pulls customers into a segment (SHAP of the soft assignment), then one customer:
    why this segment, and the what-if."""
    st.info(
        f"**What is explained:** the *soft assignment* — each segment's pull on a customer is the softmax of "
        "minus the squared distance to its centre. Its most likely segment is the k-means segment for "
        f"{pct(model.metrics['soft_agreement'])} of customers (exact by construction), and because its "
        "scores are linear in the scaled features, the SHAP values are exact and add up to the score.",
        icon=":material/info:",
    )
    st.markdown("**Across customers: what pulls them into a segment**")
    j = st.selectbox("Segment", range(model.k), format_func=lambda i: f"{i + 1} · {names[i]}", key="seg_exp_segment")
    with guard("explaining the segments", stop=False):
        sample = memo(
            "seg_exp_rows",
            key,
            lambda: model.customers[model.features].sample(min(500, len(model.customers)), random_state=0),
        )
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


def results(model: seg.SegmentationModel, key: str, run_id: str | None, dataset_name: str) -> None:
    """Step 4: the tabs, for a model trained now or reopened from a share link (`key` identifies the run)."""
    st.subheader("4 · Results")
    segments, spread, perf, expl, score, share = st.tabs(
        ["Segments", "Map", "Quality", "Explanations", "Score new data", "Share"]
    )

    with segments:
        model, names = _segments(model, key)

    with spread:
        fig, shown = map_chart(model, names)
        st.plotly_chart(fig, key="seg_map")
        st.caption(
            f"Each dot is a customer ({shown:,} of {int(model.metrics['customers']):,} shown); customers close together "
            "buy alike. Overlap here is normal: the map squeezes every feature into two directions."
        )

    with perf:
        performance(model, names)
        with st.expander("What was done to the data"):
            for note in model.notes:
                st.markdown(f"- {plain(note)}")

    with expl:
        _explanations(model, names, key)

    with score:
        score_new_data(model, "seg")

    with share:
        share_panel(
            "segmentation",
            run_id,
            memo("seg_model_file", f"{key}_{names}_{model.dictionary.digest()}", model.to_bytes),
            "segmentation_model.safetensors",
            report=lambda: report(model, names, dataset_name),
        )
        download_customers(model, names, key="seg_download_share")
        st.caption(
            "The model file, the report, the CSV downloads and a link created now carry the segment names as "
            "shown (including names you changed); a link created before a rename keeps the names it had."
        )


def report(model: seg.SegmentationModel, names: Sequence[str], dataset_name: str) -> str:
    """A self-contained HTML report of the segments, with the names on screen."""
    m, b = model.metrics, model.baseline_metrics[seg.BASELINE]
    seg_table = pd.DataFrame(
        {
            "segment": names,
            "customers": model.profile["customers"].iloc[1:].to_numpy(),
            "suggested action": model.actions,
        }
    )
    fig_map, _ = map_chart(model, names)
    perf = performance_table(model)
    sections = [
        (
            "Segments",
            [
                f"{int(m['customers']):,} customers in {int(m['k'])} segments (suggested by silhouette: {int(m['suggested_k'])}).",
                seg_table,
                sizes_chart(model, names),
                comparison_heatmap(model, names),
            ],
        ),
        (
            "Stability and sizes",
            [
                stability_sentence(model)[0].replace("**", ""),
                size_advice(model, names)[0].replace("**", ""),
                k_sentence(model),
            ],
        ),
        ("Profiles (medians)", [profile_table(model, names)]),
        ("Map", ["Customers on the first two principal components of the scaled features.", fig_map]),
        (
            "Engine check: torch k-means beside scikit-learn KMeans",
            [
                f"Inertia ratio {m['inertia_ratio']:.4f}; agreement (adjusted Rand index) {m['ari_vs_baseline']:.3f}; "
                f"silhouette {m['silhouette']:.3f} vs {b['silhouette']:.3f}.",
                perf,
                scan_chart(model),
            ],
        ),
        ("What was done to the data", list(model.notes)),
    ]
    sections.append(appendix(model.columns, model.config, names=model.dictionary))
    sizes = model.profile["customers"].iloc[1:].to_numpy()
    biggest = sorted(zip(sizes, names), reverse=True)[:3]
    lead = [
        f"{int(m['customers']):,} customers fall into {int(m['k'])} segments; the largest: "
        + ", ".join(f"'{n}' ({int(c):,}, {100 * c / max(sizes.sum(), 1):.0f}%)" for c, n in biggest)
        + ".",
        stability_sentence(model)[0].replace("**", ""),
    ]
    return build_report(
        f"Retail segmentation: {int(m['k'])} segments", sections, subtitle=f"dataset {dataset_name}", lead=lead
    )


def required_columns(model: seg.SegmentationModel) -> list[str]:
    """The columns a file to score needs: the transaction roles, or the customer table's features."""
    columns = model.columns
    return (
        [c for c in columns.transaction_roles.values() if c]
        if columns.shape == seg.TRANSACTIONS
        else list(model.features)
    )


def scoring_caption(model: seg.SegmentationModel) -> str:
    required = required_columns(model)
    return (
        f"Upload a CSV with the columns {', '.join(required[:10])}{'…' if len(required) > 10 else ''}: each customer "
        "in it gets the segment whose centre is nearest and the top reasons, one row per customer in the download. "
        + (
            "Recency counts back from the day after the new file's last invoice unless the model has a reference date."
            if model.columns.shape == seg.TRANSACTIONS
            else ""
        )
    )


def score_new_data(model: seg.SegmentationModel, key: str) -> None:
    """Upload customers (transactions or a customer table, as trained) → their segments as a CSV."""
    batch_scoring(key, model.score, required_columns(model), "segments_scored.csv", caption=scoring_caption(model))


def score_with_model_file() -> None:
    """Assign new customers with a model file saved earlier from this page — no training."""
    model_file_scoring(
        "seg",
        seg.load,
        "segments_scored.csv",
        describe=lambda m: (
            f"{m.k} segments ({', '.join(m.names)}) found among "
            f"{int(m.metrics['customers']):,} customers from {len(m.features)} features"
        ),
        required=required_columns,
        caption=scoring_caption,
    )


def shared_results(model: seg.SegmentationModel, table: Table, key: str, run_id: str | None) -> None:
    """A shared run's results: the per-customer data is rebuilt from its dataset once (never stored in model files)."""
    results(memo("seg_shared", key, lambda: model.attach(table.df), keep=1), key, run_id, table.name)
