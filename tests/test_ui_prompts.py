"""The 提示词 page in AppTest: invalid edits refused (file unchanged), valid ones saved."""

from __future__ import annotations

import pytest

from tests.ui_helpers import assistant_view, open_app, plain, texts

pytestmark = pytest.mark.unit


def _open(indexed_assistant, home):
    assistant = assistant_view(indexed_assistant, home)
    return assistant, open_app(assistant, page="prompts")


def _editor(at):
    return next(t for t in at.text_area if t.key.startswith("prompt_text_"))


def _click(at, label: str):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]


def test_invalid_edit_is_refused_and_the_file_unchanged(indexed_assistant, isolated_env):
    assistant, at = _open(indexed_assistant, isolated_env)
    at.selectbox(key="prompt_file").select("answer.md").run()
    path = isolated_env / "prompts" / "answer.md"
    before = path.read_bytes()
    broken = path.read_text(encoding="utf-8").replace("{{ passages }}", "")
    _editor(at).input(broken)
    _click(at, "保存")

    errors = [plain(e.value) for e in at.error]
    assert errors and "未保存" in errors[0] and "passages" in errors[0]
    assert path.read_bytes() == before


def test_unknown_variable_is_refused(indexed_assistant, isolated_env):
    assistant, at = _open(indexed_assistant, isolated_env)
    at.selectbox(key="prompt_file").select("system.md").run()
    path = isolated_env / "prompts" / "system.md"
    before = path.read_bytes()
    _editor(at).input(path.read_text(encoding="utf-8") + "\n{{ api_key }}\n")
    _click(at, "保存")
    assert any("api_key" in plain(e.value) for e in at.error)
    assert path.read_bytes() == before


def test_valid_edit_is_saved_and_used(indexed_assistant, isolated_env):
    assistant, at = _open(indexed_assistant, isolated_env)
    at.selectbox(key="prompt_file").select("system.md").run()
    path = isolated_env / "prompts" / "system.md"
    text = path.read_text(encoding="utf-8").replace("用中文回答", "用规范的中文回答")
    _editor(at).input(text)
    _click(at, "校验")
    assert any("格式正确" in s.value for s in at.success)
    assert "用规范的中文回答" not in path.read_text(encoding="utf-8")
    _click(at, "保存")
    assert "用规范的中文回答" in path.read_text(encoding="utf-8")
    assert any("已保存 system.md" in plain(s.value) for s in at.success)
    assert "用规范的中文回答" in assistant.prompts.render("system")


def test_active_profile_is_used_for_answers(indexed_assistant, isolated_env):
    assistant, at = _open(indexed_assistant, isolated_env)
    at.selectbox(key="_w_profile").select("简洁要点").run()
    assert at.session_state["opt_profile"] == "简洁要点"
    at.switch_page("views/chat.py").run()
    assert at.selectbox(key="_w_profile").value == "简洁要点"
    at.chat_input[0].set_value("大连全市建立了多少个网格？").run()
    assert at.session_state["messages"][-1]["answer"].prompt == "简洁要点"


def test_new_profile_is_created_valid(indexed_assistant, isolated_env):
    assistant, at = _open(indexed_assistant, isolated_env)
    name_box = next(t for t in at.text_input if t.label == "名称")
    name_box.input("领导讲话稿")
    next(b for b in at.button if b.label == "创建").click().run()
    path = isolated_env / "prompts" / "profiles" / "领导讲话稿.md"
    assert path.exists()
    assert at.selectbox(key="prompt_file").value == "profiles/领导讲话稿.md"
    assert "领导讲话稿" in assistant.prompts.profile_names()
    assert not assistant.prompts.check()


def test_bad_profile_name_is_refused(indexed_assistant, isolated_env):
    assistant, at = _open(indexed_assistant, isolated_env)
    next(t for t in at.text_input if t.label == "名称").input("../../evil")
    next(b for b in at.button if b.label == "创建").click().run()
    assert any("配置名只能用" in e.value for e in at.error)
    assert not (isolated_env / "evil.md").exists()
    assert "\n".join(texts(at.main))
