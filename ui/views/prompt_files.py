"""提示词: view and edit prompts/*.md (validated before saving) and pick the session's style."""

from __future__ import annotations

import streamlit as st

from assistant.prompts import PromptError
from ui import prompt_edit, sidebar, state
from ui.text import inert_text, one_line

assistant = state.get_assistant()
library = assistant.prompts
directory = assistant.settings.prompts_dir

st.title("提示词")
st.caption(
    "回答规则和输出风格都写在提示词文件里（YAML 头 + 正文，变量写成 {{ 变量名 }}）。"
    "保存前会校验：格式不对、用了不提供的变量或漏用声明的变量都会被拒绝，文件保持不变。"
    "保存后下一次提问即生效。"
)
if not state.uses_llm(assistant):
    st.info(
        f"当前为离线摘录模式：答案直接摘自报告原文，不使用提示词，这里的修改和输出风格"
        f"{sidebar.OFFLINE_NO_EFFECT}。配置大模型（OPENAI_BASE_URL、OPENAI_MODEL，"
        "见 .env.example）后才会生效。",
        icon=":material/info:",
    )

# ---- the session's style ------------------------------------------------------------------

profiles = sidebar.profile_choices(assistant)
if state.option("profile", state.DEFAULT_PROFILE) not in profiles:
    state.set_option("profile", state.DEFAULT_PROFILE)
st.selectbox(
    "本次会话使用的输出风格",
    profiles,
    format_func=sidebar.profile_label,
    key=state.widget_key("profile", state.DEFAULT_PROFILE),
    on_change=state.keep,
    args=("profile",),
    help="也可以在“对话”页的侧栏切换。",
)

problems = library.check()
if problems:
    st.warning(
        "以下文件当前有问题（回答时使用它们上一个有效的版本）：\n\n"
        + "\n".join(f"- {inert_text(p)}" for p in problems),
        icon=":material/error:",
    )

# ---- editor -------------------------------------------------------------------------------

files = prompt_edit.prompt_files(directory)
labels = [f.label for f in files]
wanted = st.session_state.pop("prompt_select_next", None)
if wanted in labels:
    st.session_state["prompt_file"] = wanted
chosen = st.selectbox("文件", labels, key="prompt_file", format_func=lambda s: one_line(s, 80))
file = files[labels.index(chosen)]

if file.allowed is None:
    st.caption("这个文件不被程序使用，可以随意保存合法的提示词。")
elif file.allowed:
    st.caption("可用变量：" + "、".join(f"`{v}`" for v in sorted(file.allowed)))
else:
    st.caption("这个文件不使用变量（variables: []）。")

try:
    on_disk = prompt_edit.read(file)
except PromptError as exc:
    st.error(inert_text(str(exc)))
    st.stop()

version = st.session_state.setdefault("prompt_version", 0)
text = st.text_area(
    "内容",
    value=on_disk,
    height=420,
    key=f"prompt_text_{file.label}_{version}",
    label_visibility="collapsed",
)

check_col, save_col, reset_col, _ = st.columns([1, 1, 1, 3])
checked = check_col.button("校验", icon=":material/rule:", width="stretch")
saved = save_col.button("保存", type="primary", icon=":material/save:", width="stretch")
reset = reset_col.button(
    "放弃修改", icon=":material/undo:", width="stretch", disabled=text == on_disk
)

if checked or saved:
    problem = prompt_edit.validate(file, text)
    if problem:
        st.error(
            f"{'未保存：' if saved else ''}{inert_text(problem)}\n\n请按提示修改后再保存。",
            icon=":material/block:",
        )
    elif saved:
        problem = prompt_edit.save(file, text)
        if problem:
            st.error(inert_text(problem), icon=":material/block:")
        else:
            st.session_state["prompt_version"] = version + 1
            st.session_state["prompt_notice"] = f"已保存 {file.label}，下一次提问即生效。"
            st.rerun()
    else:
        st.success("格式正确，可以保存。", icon=":material/check_circle:")
if reset:
    st.session_state["prompt_version"] = version + 1
    st.rerun()

notice = st.session_state.pop("prompt_notice", None)
if notice:
    st.success(inert_text(notice), icon=":material/check_circle:")

# ---- new style profile --------------------------------------------------------------------

with st.expander("新建输出风格", icon=":material/add:"):
    with st.form("new_profile", border=False):
        name = st.text_input("名称", placeholder="例如：领导讲话稿", max_chars=64)
        if st.form_submit_button("创建"):
            created, problem = prompt_edit.new_profile(directory, name)
            if problem:
                st.error(inert_text(problem))
            else:
                st.session_state["prompt_select_next"] = created.label
                st.session_state["prompt_notice"] = f"已创建 {created.label}，请编辑后保存。"
                st.rerun()
