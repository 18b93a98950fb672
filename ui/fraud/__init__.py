"""Views of the Fraud detection page: column roles, money inputs, results tabs, the report. The page arranges them.

One module per part of the page: columns.py (step 2), costs.py (the money, the threshold and the Cost & threshold tab),
tabs.py (step 4: the results tabs, the report, scoring) and one module per tab it arranges — accuracy.py
(Performance), flagged.py (Flagged transactions), explanations.py (Explanations and the What-if).
"""

from ui.fraud.accuracy import KEYS, LABELS, performance, score_histogram
from ui.fraud.columns import NO_LABEL, NONE, column_roles, options
from ui.fraud.costs import cost_view, costs_in_words, money_inputs, threshold_slider
from ui.fraud.explanations import explanations_view, what_if_view
from ui.fraud.flagged import FLAG_LIMIT, flagged_view
from ui.fraud.tabs import report, report_lead, results, score_with_model_file

__all__ = [
    "FLAG_LIMIT",
    "KEYS",
    "LABELS",
    "NONE",
    "NO_LABEL",
    "column_roles",
    "cost_view",
    "costs_in_words",
    "explanations_view",
    "flagged_view",
    "money_inputs",
    "options",
    "performance",
    "report",
    "report_lead",
    "results",
    "score_histogram",
    "score_with_model_file",
    "threshold_slider",
    "what_if_view",
]
