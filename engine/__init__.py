"""The shared engine: data reading, preprocessing, one training loop, jobs, SHAP, scenarios.

Nothing in this package imports Streamlit; it works the same from a notebook, a CLI or a test.
"""
