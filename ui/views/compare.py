"""跨地区比较: a theme in, one cited row per region out, with the gaps visible at a glance."""

from __future__ import annotations

import streamlit as st

from ui import asking, state, suggestions
from ui.answer_view import render_answer
from ui.text import inert_label

assistant = state.get_assistant()

st.title("跨地区比较")
st.caption(
    "输入一个主题，按地区对比各报告的主要做法和关键数据。每个单元格都标注出处 [n]，"
    "报告没有涉及的地区标为“未涉及”。侧栏可限定参与比较的地区。"
)

with st.form("compare_form", border=False):
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    theme = left.text_input(
        "比较主题",
        placeholder="例如：发挥党员先锋模范作用、网格化管理、软弱涣散党组织整顿",
        key="compare_theme",
    )
    submitted = right.form_submit_button("开始比较", type="primary", width="stretch")

if submitted:
    limit = assistant.settings.max_question_chars
    if not (theme or "").strip():
        st.warning("请先输入要比较的主题。")
    elif len(theme.strip()) > limit:
        # The text stays in the box: the browser would otherwise cut a paste off silently.
        st.warning(
            f"主题有 {len(theme.strip())} 字，超过了 {limit} 字的上限，还没有开始比较。"
            "请在上面的输入框里删减后再点“开始比较”。",
            icon=":material/content_cut:",
        )
    else:
        answer = asking.ask(assistant, theme.strip(), mode="compare")
        if answer is not None:
            st.session_state["compare_answer"] = answer

answer = st.session_state.get("compare_answer")
if answer is not None:
    st.subheader(inert_label(answer.question, 60))
    render_answer(answer, key="compare", chart=True, chunks=suggestions.lookup(assistant))
