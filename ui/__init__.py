"""Shared Streamlit components: every page is built from these."""
