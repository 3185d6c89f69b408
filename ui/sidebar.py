"""The sidebar: question options (on the pages that ask) and the status line (everywhere)."""

from __future__ import annotations

import logging

import streamlit as st

from assistant.service import Assistant
from ui import state
from ui.text import inert_text, one_line

log = logging.getLogger(__name__)
OFFLINE_NO_EFFECT = "离线摘录模式下不起作用"


def _scope_filters(assistant: Assistant) -> None:
    """Report kind, year and the reports themselves: the question uses only those chosen."""
    docs = list(assistant.retriever.documents())
    kinds = sorted({d.kind for d in docs if d.kind})
    years = sorted({(d.year or d.date)[:4] for d in docs if (d.year or d.date)}, reverse=True)
    titles = {
        d.doc_id: one_line(f"{d.region or '未标注地区'} · {d.title or d.doc_id}", 40) for d in docs
    }
    for name, values in (("kinds", kinds), ("years", years), ("doc_ids", list(titles))):
        kept = [v for v in state.option(name, []) if v in values]
        if kept != state.option(name, []):
            state.set_option(name, kept)
    with st.sidebar.expander("限定报告范围", expanded=bool(state.scope_of_session().any)):
        st.multiselect(
            "报告类型",
            kinds,
            key=state.widget_key("kinds", []),
            on_change=state.keep,
            args=("kinds",),
            placeholder="全部类型",
        )
        st.multiselect(
            "年份",
            years,
            key=state.widget_key("years", []),
            on_change=state.keep,
            args=("years",),
            placeholder="全部年份",
        )
        st.multiselect(
            "指定报告",
            list(titles),
            key=state.widget_key("doc_ids", []),
            on_change=state.keep,
            args=("doc_ids",),
            format_func=lambda d: titles.get(d, d),
            placeholder="全部报告",
        )
        st.caption("选定后，回答和比较只用符合条件的报告；没有符合条件的报告时会直接说明。")


def question_options(assistant: Assistant, *, with_mode: bool) -> None:
    """Region filter, passage count, mode and style profile for this session."""
    st.sidebar.subheader("提问设置")
    regions = assistant.retriever.regions()
    kept = [r for r in state.option("regions", []) if r in regions]
    if kept != state.option("regions", []):
        state.set_option("regions", kept)
    st.sidebar.multiselect(
        "地区",
        regions,
        key=state.widget_key("regions", []),
        on_change=state.keep,
        args=("regions",),
        placeholder="全部地区（问题里提到的地区会自动筛选）",
        format_func=lambda r: one_line(r, 30),
    )
    _scope_filters(assistant)
    st.sidebar.slider(
        "引用段落数",
        min_value=2,
        max_value=12,
        key=state.widget_key("k", max(2, min(12, assistant.settings.top_k))),
        on_change=state.keep,
        args=("k",),
        help="每次回答最多检索多少段报告原文。",
    )
    if with_mode:
        st.sidebar.segmented_control(
            "回答方式",
            list(state.MODES),
            format_func=state.MODES.get,
            key=state.widget_key("mode", "auto"),
            on_change=state.keep,
            args=("mode",),
            help="自动：问题里提到多个地区或“比较”时按跨地区比较作答。",
        )
    profiles = profile_choices(assistant)
    current = state.option("profile", state.DEFAULT_PROFILE)
    if current not in profiles:
        state.set_option("profile", state.DEFAULT_PROFILE)
    llm = state.uses_llm(assistant)
    st.sidebar.selectbox(
        "输出风格" if llm else f"输出风格（{OFFLINE_NO_EFFECT}）",
        profiles,
        format_func=profile_label,
        key=state.widget_key("profile", state.DEFAULT_PROFILE),
        on_change=state.keep,
        args=("profile",),
        disabled=not llm,
        help="大模型按所选提示词的体例组织答案。"
        if llm
        else "离线摘录模式直接摘录报告原文，不使用提示词，所以输出风格不起作用；"
        "配置大模型（见 .env.example）后可用。",
    )
    if assistant.settings.llm_configured and not assistant.settings.offline:
        st.sidebar.toggle(
            "只用离线摘录",
            key=state.widget_key("offline", False),
            on_change=state.keep,
            args=("offline",),
            help="不调用大模型，答案直接摘自报告原文。",
        )


def profile_choices(assistant: Assistant) -> list[str]:
    try:
        names = assistant.prompts.profile_names()
    except Exception:  # a broken prompts folder must not take the sidebar down
        log.warning("listing prompt profiles failed", exc_info=True)
        names = []
    return [state.DEFAULT_PROFILE, *names]


def profile_label(name: str) -> str:
    if name == state.DEFAULT_PROFILE:
        return "默认"
    if name == "brief":
        return "简报体例"
    return one_line(name, 30)


def status_line(assistant: Assistant, status: dict, slot, *, divider: bool = True) -> None:
    """Which answerer is active, whether it is healthy, and how big the corpus is.

    Drawn into `slot` (an `st.sidebar.empty()`): once before the page runs and again after,
    so a model failure or an upload during this run shows at once.
    """
    with slot.container():
        if divider:
            st.divider()
        label = state.answerer_label(assistant)
        if label.startswith("llm:"):
            # A code span shows its content literally; only a backtick could end it early.
            st.markdown(f"回答方式：`{label.replace('`', '')[:60]}`")
        else:
            st.markdown("回答方式：**离线摘录模式**")
            if assistant.settings.llm_configured and state.option("offline", False):
                st.caption("已手动切换为离线摘录。")
        health = state.llm_health(assistant)
        if label.startswith("llm:") and health.failing:
            st.warning(
                "大模型最近一次调用失败："
                + inert_text(health.problem)
                + "。该次已改用离线摘录作答。\n\n请检查 OPENAI_BASE_URL、OPENAI_MODEL 和密钥，"
                "或稍后再试；也可以打开“只用离线摘录”。",
                icon=":material/cloud_off:",
            )
        st.caption(f"资料库：{status['documents']} 份报告 · {status['chunks']} 个段落")
        if status.get("incomplete"):
            st.warning(
                f"{len(status['incomplete'])} 份报告没有索引完整，请在“资料库”页重新上传，"
                "或运行 `assistant ingest`。",
                icon=":material/sync_problem:",
            )
        problems = _prompt_problems(assistant)
        if problems:
            st.warning(
                "提示词文件有问题，正在使用上一个有效版本：\n\n"
                + "\n".join(f"- {inert_text(p)}" for p in problems),
                icon=":material/edit_note:",
            )


def _prompt_problems(assistant: Assistant) -> list[str]:
    try:
        return list(assistant.prompts.problems.values())
    except Exception:
        return []
