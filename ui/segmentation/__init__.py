"""Views for the Retail segmentation page: column mapping, segment profiles, map, k scan, drill-down.

Shared pieces (metric cards, SHAP bar/beeswarm/waterfall, downloads) come from ui.results and
ui.charts; what is drawn here exists only on this page.

One module per part of the page: columns.py (step 2), tabs.py (step 4: the results tabs, the report, scoring) and
one module per tab it arranges — profiles.py (Segments and Map), quality.py (Quality), explanations.py
(Explanations and the what-if).
"""

from ui.segmentation.columns import (
    AUTO_K,
    NONE_ID,
    NONE_INVOICE,
    NONE_QTY,
    ROLE_LABELS,
    SHAPES,
    columns_form,
    prepared_summary,
    role_reasons,
)
from ui.segmentation.explanations import (
    customer_picker,
    customer_view,
    customer_what_if,
    global_explanation,
    membership_waterfall,
)
from ui.segmentation.profiles import (
    LAYOUT,
    SEGMENT_COLORS,
    comparison_heatmap,
    headline,
    map_chart,
    names_editor,
    profile_table,
    show,
    sizes_chart,
)
from ui.segmentation.quality import (
    LABELS,
    METRIC_HELP,
    STABLE_ARI,
    UNSTABLE_ARI,
    k_sentence,
    performance,
    performance_table,
    scan_chart,
    size_advice,
    stability_sentence,
)
from ui.segmentation.tabs import (
    download_customers,
    report,
    required_columns,
    results,
    score_new_data,
    score_with_model_file,
    scoring_caption,
    shared_results,
)

__all__ = [
    "AUTO_K",
    "LABELS",
    "LAYOUT",
    "METRIC_HELP",
    "NONE_ID",
    "NONE_INVOICE",
    "NONE_QTY",
    "ROLE_LABELS",
    "SEGMENT_COLORS",
    "SHAPES",
    "STABLE_ARI",
    "UNSTABLE_ARI",
    "columns_form",
    "comparison_heatmap",
    "customer_picker",
    "customer_view",
    "customer_what_if",
    "download_customers",
    "global_explanation",
    "headline",
    "k_sentence",
    "map_chart",
    "membership_waterfall",
    "names_editor",
    "performance",
    "performance_table",
    "prepared_summary",
    "profile_table",
    "report",
    "required_columns",
    "results",
    "role_reasons",
    "scan_chart",
    "score_new_data",
    "score_with_model_file",
    "scoring_caption",
    "shared_results",
    "show",
    "size_advice",
    "sizes_chart",
    "stability_sentence",
]
