"""Views of the Digit recognizer page: digit images, confusion matrix, gallery, pixel SHAP, drawing, batch prediction.

One module per part of the page: inputs.py (steps 1 and 2: the bundled samples, the first images, the training time),
tabs.py (step 4: the results tabs, the report, a shared run, a model file) and one module per tab it arranges —
accuracy.py (Performance, with the nudge), explanations.py (Explanations), new_images.py (Draw a digit and Predict new
images); figures.py draws the charts and images.py the digit pictures.
"""

from ui.digits.accuracy import KEYS, LABELS, MODEL_HELP, gallery, in_order, nudge_view, performance, performance_summary
from ui.digits.explanations import digit_global_view, explanation_view
from ui.digits.figures import (
    accuracy_bars,
    attribution_map,
    confusion_heatmap,
    digit_attribution_grid,
    gallery_figure,
    recall_by_digit,
    training_curves,
)
from ui.digits.images import image_strip, upscale
from ui.digits.inputs import SAMPLE_DIR, load_bundled, preview_images, time_notice, training_estimate
from ui.digits.new_images import batch_prediction, drawing_view
from ui.digits.tabs import model_from_file, report, results, shared_results

__all__ = [
    "KEYS",
    "LABELS",
    "MODEL_HELP",
    "SAMPLE_DIR",
    "accuracy_bars",
    "attribution_map",
    "batch_prediction",
    "confusion_heatmap",
    "digit_attribution_grid",
    "digit_global_view",
    "drawing_view",
    "explanation_view",
    "gallery",
    "gallery_figure",
    "image_strip",
    "in_order",
    "load_bundled",
    "model_from_file",
    "nudge_view",
    "performance",
    "performance_summary",
    "preview_images",
    "recall_by_digit",
    "report",
    "results",
    "shared_results",
    "time_notice",
    "training_curves",
    "training_estimate",
    "upscale",
]
