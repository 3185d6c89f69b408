"""Streamlit's own English on every page, in Chinese: our static CSS (no report or model text)
draws the words in place of the built-in ones, which Streamlit offers no option to change."""

from __future__ import annotations

import streamlit as st

# The keyboard "skip to main content" link, shown when it takes the focus.
APP_CSS = """<style>
a[data-testid="stSkipToContent"][href] { font-size: 0; }
[data-testid="stSkipToContent"]::after { content: "跳到正文"; font-size: 0.875rem; }
</style>"""


def apply() -> None:
    """Add the CSS to the page (a style-only st.html takes no room)."""
    st.html(APP_CSS)
