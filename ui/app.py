"""党建报告问答助手: the Streamlit entry point (`streamlit run ui/app.py`).

Only layout: pages, sidebar and first-start indexing; every answer comes from `assistant/`.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # `streamlit run ui/app.py` puts only ui/ on the path
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from ui import setup, sidebar, streamlit_words  # noqa: E402

st.set_page_config(
    page_title="党建报告问答助手",
    page_icon=":material/menu_book:",
    layout="wide",
    initial_sidebar_state="expanded",
)
streamlit_words.apply()

HERE = Path(__file__).resolve().parent
# The page scripts live in views/, not pages/: a pages/ folder next to the entry point turns
# on Streamlit's older folder-based navigation, which fights st.navigation on reruns.
PAGES = {
    "chat": st.Page(
        HERE / "views" / "chat.py", title="对话", icon=":material/forum:", default=True
    ),
    "compare": st.Page(
        HERE / "views" / "compare.py", title="跨地区比较", icon=":material/compare:"
    ),
    "library": st.Page(
        HERE / "views" / "library.py", title="资料库", icon=":material/folder_open:"
    ),
    "prompts": st.Page(
        HERE / "views" / "prompt_files.py", title="提示词", icon=":material/edit_note:"
    ),
}

page = st.navigation(list(PAGES.values()))
assistant = setup.open_assistant()
status = setup.ensure_corpus(assistant)
asks = page.title in (PAGES["chat"].title, PAGES["compare"].title)
if asks:
    sidebar.question_options(assistant, with_mode=page.title == PAGES["chat"].title)
status_slot = st.sidebar.empty()
sidebar.status_line(assistant, status, status_slot, divider=asks)
page.run()
sidebar.status_line(assistant, setup.read_status(assistant), status_slot, divider=asks)
