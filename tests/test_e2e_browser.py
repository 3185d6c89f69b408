"""The app in a real headless Chromium: `streamlit run ui/app.py` on 127.0.0.1, offline answerer.

Uses Debian's chromium and chromium-driver (`make browser`); Selenium is pointed at them and
Selenium Manager is kept offline, so nothing is ever downloaded. With UPDATE_SCREENSHOTS=1 the
screenshot test also refreshes docs/screenshots/ for the README.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
QUESTION = "大连全市建立了多少个网格？"

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip("chromium/chromedriver missing: run `make browser`", allow_module_level=True)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"streamlit not healthy:\n{log.read_text(errors='replace')[-3000:]}")


@contextlib.contextmanager
def _serve(script: Path, workdir: Path, env_overrides: dict[str, str], log: Path) -> Iterator[str]:
    """`streamlit run script` on a free 127.0.0.1 port, stopped afterwards; yields its URL."""
    shutil.copytree(PROJECT_ROOT / ".streamlit", workdir / ".streamlit")  # no stray .env here
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ASSISTANT_", "OPENAI_", "CHROMA_", "STREAMLIT_"))
    }
    env.update(env_overrides)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(script),
                "--server.address=127.0.0.1",
                f"--server.port={port}",
                "--server.headless=true",
                "--browser.gatherUsageStats=false",
            ],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text


def _app_env(store_dir: Path, home: Path, **extra: str) -> dict[str, str]:
    return dict(
        ASSISTANT_STORE_DIR=str(store_dir),
        ASSISTANT_UPLOAD_DIR=str(home / "uploads"),
        ASSISTANT_PROMPTS_DIR=str(home / "prompts"),
        ASSISTANT_REPORTS_DIR=str(PROJECT_ROOT / "data" / "reports"),
        **extra,
    )


@pytest.fixture
def app_url(seeded_cache: Path, isolated_env: Path, tmp_path: Path) -> Iterator[str]:
    """The app over an empty store whose embedding cache is filled: the first page load
    indexes the sample reports (the fresh-machine path), quickly."""
    workdir = tmp_path / "run"
    workdir.mkdir()
    env = _app_env(seeded_cache, isolated_env, ASSISTANT_OFFLINE="true", OPENAI_MODEL="")
    with _serve(PROJECT_ROOT / "ui" / "app.py", workdir, env, tmp_path / "streamlit.log") as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not fetch a driver
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--lang=zh-CN",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _chat_input(driver, timeout: float = 180):
    # The first load may index the sample corpus before the page is drawn.
    return WebDriverWait(driver, timeout).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']"))
    )


def _ask(driver, question: str, timeout: float = 120):
    box = _chat_input(driver)
    box.send_keys(question)
    box.send_keys(Keys.ENTER)

    def answered(d):
        messages = d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")
        if len(messages) < 2:
            return False
        last = messages[-1]
        return last if "来源" in last.text else False

    return WebDriverWait(driver, timeout).until(answered)


def _settle(driver, timeout: float = 30) -> None:
    """Wait until the script run is over (no running indicator) and fonts are drawn."""
    WebDriverWait(driver, timeout).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']")
    )
    time.sleep(1.0)


def test_browser_answers_the_dalian_grid_question_with_its_source(app_url, browser, tmp_path):
    browser.get(app_url)
    answer = _ask(browser, QUESTION)

    assert "6331" in answer.text
    assert "[1]" in answer.text
    sources = answer.find_elements(By.CSS_SELECTOR, "[data-testid='stExpander'] summary")
    labels = [s.text for s in sources]
    assert any("[1] 大连市" in label for label in labels), labels
    assert "离线摘录模式" in browser.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text

    # The cited passage opens with the quoted span highlighted; no traceback anywhere.
    sources[0].click()
    WebDriverWait(browser, 10).until(lambda d: re.search(r"第\d+段", answer.text))
    assert not re.search(r"原文第 ?\d+", answer.text)  # no character offsets
    assert "强基固本筑堡垒" in answer.text
    assert "Traceback" not in browser.page_source
    _settle(browser)
    shot = tmp_path / "chat.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


DIALOG = (By.CSS_SELECTOR, "[data-testid='stDialog']")
POPOVER = (By.CSS_SELECTOR, "[data-testid='stPopoverBody']")


def _close_dialog(driver, dialog) -> None:
    """Close a Streamlit dialog with its own close button (Esc reaches the popover first)."""
    buttons = [
        b
        for b in dialog.find_elements(By.CSS_SELECTOR, "button")
        if (b.get_attribute("aria-label") or "").lower() == "close"
    ]
    if buttons:
        buttons[0].click()
    else:
        webdriver.ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    WebDriverWait(driver, 10).until(ec.invisibility_of_element_located(DIALOG))


def _shown(driver, locator) -> bool:
    try:
        return any(e.is_displayed() for e in driver.find_elements(*locator))
    except Exception:  # noqa: BLE001 - an element replaced while looking is not shown
        return False


def _messages(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")


def test_browser_conversation_survives_a_reload_and_citations_open(app_url, browser):
    """A question and a follow-up, [1] opened to its quoted words and 查看原文, then a reload
    of the page's URL shows the same conversation with its sources."""
    browser.get(app_url)
    _ask(browser, QUESTION)
    _settle(browser)
    WebDriverWait(browser, 30).until(lambda d: "c=" in d.current_url)
    url = browser.current_url

    # [1] under the answer opens the cited words with where they are.
    answer = _messages(browser)[-1]
    first = next(
        b
        for b in answer.find_elements(By.CSS_SELECTOR, "[data-testid='stPopover'] button")
        if b.text.startswith("[1]")
    )
    first.click()
    body = WebDriverWait(browser, 10).until(ec.visibility_of_element_located(POPOVER))
    assert "6331" in body.text and "大连市" in body.text and re.search(r"第\d+段", body.text)
    assert body.find_elements(By.CSS_SELECTOR, "strong")  # the quoted words stand out
    next(b for b in body.find_elements(By.TAG_NAME, "button") if "查看原文" in b.text).click()
    dialog = WebDriverWait(browser, 30).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid='stDialog']"))
    )
    WebDriverWait(browser, 30).until(lambda d: "6331" in dialog.text)
    assert "查看原文" in dialog.text and dialog.find_elements(By.CSS_SELECTOR, "strong")
    _close_dialog(browser, dialog)
    if _shown(browser, POPOVER):  # a click outside closes the popover too
        browser.find_element(By.CSS_SELECTOR, "h1").click()
        WebDriverWait(browser, 10).until(ec.invisibility_of_element_located(POPOVER))
    _settle(browser)

    follow = _ask_more(browser, "那薛城区呢？", 4)
    assert "薛城区" in follow.text
    _settle(browser)

    browser.get(url)  # a reload (or a restart of the app) opens the same conversation
    WebDriverWait(browser, 120).until(lambda d: len(_messages(d)) == 4)
    _settle(browser)
    shown = [m.text for m in _messages(browser)]
    assert QUESTION in shown[0] and "6331" in shown[1] and "来源" in shown[1]
    assert "那薛城区呢？" in shown[2] and "来源" in shown[3]
    sidebar = browser.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']")
    assert QUESTION in sidebar.text  # listed under 对话记录, titled by the first question
    assert "Traceback" not in browser.page_source


def _ask_more(driver, question: str, count: int, timeout: float = 120):
    box = _chat_input(driver)
    box.send_keys(question)
    box.send_keys(Keys.ENTER)

    def answered(d):
        messages = _messages(d)
        return messages[-1] if len(messages) >= count and "来源" in messages[-1].text else False

    return WebDriverWait(driver, timeout).until(answered)


@pytest.mark.skipif(not os.environ.get("UPDATE_SCREENSHOTS"), reason="set UPDATE_SCREENSHOTS=1")
def test_readme_screenshots(app_url, browser):
    """docs/screenshots/chat.png and compare.png, taken with the same browser setup."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1400, 1300)
    browser.get(app_url)
    answer = _ask(browser, QUESTION)
    answer.find_elements(By.CSS_SELECTOR, "[data-testid='stExpander'] summary")[0].click()
    _settle(browser)
    browser.save_screenshot(str(SCREENSHOTS / "chat.png"))

    browser.set_window_size(1400, 1500)
    browser.get(f"{app_url}/compare")
    theme = WebDriverWait(browser, 120).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stTextInput'] input"))
    )
    theme.send_keys("村集体经济收入")
    theme.send_keys(Keys.ENTER)
    WebDriverWait(browser, 120).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "[data-testid='stTable']")
            and d.find_elements(By.CSS_SELECTOR, "[data-testid='stVegaLiteChart']")
        )
    )
    _settle(browser)
    browser.save_screenshot(str(SCREENSHOTS / "compare.png"))


HOSTILE_PAGE = """
import sys
sys.path.insert(0, {root!r})
from assistant.answers import Answer, Citation, Unsupported
from ui.answer_view import render_answer

evil = ("<script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'>"
        " [点我](javascript:window.__pwned=3) ![](http://127.0.0.1:9/leak?q=1)"
        " www.evil.example :red[假] $x^2$ a@b.example")
quote = "目前全市已建立6331个网格。" + evil
citation = Citation(1, "c1", "d1", "大连市<b>", "标题[x](javascript:alert(4))",
                    "章节 ![](http://127.0.0.1:9/s)", 0, len(quote), quote)
answer = Answer(
    question="网格<script>", found=True, citations=[citation],
    answer="大连全市已建立6331个网格[1]。" + evil + "[1]\\n\\n- 全市共有9999个网格[1]。",
    unsupported=[Unsupported("- 全市共有9999个网格。", "数字 9999 不在所引摘录 [1] 中。")],
)
render_answer(answer, key="hostile")
"""


def test_report_and_model_markup_stays_inert_in_the_browser(browser, tmp_path):
    """Answer, 来源 and export with <script>, onerror, javascript: and remote images in them."""
    workdir = tmp_path / "hostile"
    workdir.mkdir()
    script = workdir / "hostile_page.py"
    script.write_text(HOSTILE_PAGE.format(root=str(PROJECT_ROOT)), encoding="utf-8")
    with _serve(script, workdir, {}, tmp_path / "hostile.log") as url:
        browser.get(url)
        WebDriverWait(browser, 60).until(
            lambda d: "来源" in d.find_element(By.CSS_SELECTOR, "[data-testid='stMain']").text
        )
        for summary in browser.find_elements(By.CSS_SELECTOR, "[data-testid='stExpander'] summary"):
            summary.click()
        _settle(browser)
        main = browser.find_element(By.CSS_SELECTOR, "[data-testid='stMain']")
        assert "<script>window.__pwned = 1</script>" in main.text  # shown as text
        assert "未核实" in main.text
        assert browser.execute_script("return window.__pwned === undefined")
        assert not main.find_elements(By.CSS_SELECTOR, "[data-testid='stMarkdown'] img")
        hrefs = [a.get_attribute("href") or "" for a in main.find_elements(By.TAG_NAME, "a")]
        assert not [h for h in hrefs if "127.0.0.1:9" in h or "javascript" in h or "evil" in h]
        assert not main.find_elements(By.CSS_SELECTOR, ".katex")
        loaded = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert not [u for u in loaded if "127.0.0.1:9" in u], loaded
        browser.save_screenshot(str(tmp_path / "hostile.png"))


@pytest.mark.integration
def test_browser_streams_a_model_answer_and_reports_a_failing_model(
    seeded_cache, isolated_env, browser, tmp_path
):
    """Against a local OpenAI-compatible stub: a 500 shows the extract and a sidebar warning;
    then an answer streams in token by token and is replaced by the checked answer."""
    from tests.openai_stub import OpenAIStub, Reply

    text = "大连市全市已建立6331个网格，成立5059个网格党组织[1]。"
    with OpenAIStub(default=Reply.error(500)) as stub:
        env = _app_env(
            seeded_cache,
            isolated_env,
            OPENAI_BASE_URL=stub.base_url,
            OPENAI_MODEL="stub-model",
            OPENAI_API_KEY="sk-test-not-a-key",
            ASSISTANT_LLM_RETRIES="0",
        )
        workdir = tmp_path / "llm"
        workdir.mkdir()
        with _serve(PROJECT_ROOT / "ui" / "app.py", workdir, env, tmp_path / "llm.log") as url:
            browser.get(url)
            failed = _ask(browser, QUESTION)
            assert "离线摘录" in failed.text and "6331" in failed.text
            _settle(browser)
            sidebar = browser.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']")
            assert "llm:stub-model" in sidebar.text
            assert "大模型最近一次调用失败" in sidebar.text
            assert "sk-test-not-a-key" not in browser.page_source

            stub.default = Reply.ok(text, delay_s=0.25, chunk_chars=2)  # the model recovers
            clear = next(
                b for b in browser.find_elements(By.TAG_NAME, "button") if "新对话" in b.text
            )
            clear.click()
            WebDriverWait(browser, 30).until(
                lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")
            )
            box = _chat_input(browser)
            box.send_keys(QUESTION)
            box.send_keys(Keys.ENTER)
            partial_seen = []

            def streamed(d):
                messages = d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")
                if len(messages) < 2:
                    return False
                now = messages[-1].text
                if "▌" in now and "来源" not in now:
                    partial_seen.append(now)
                return "来源" in now

            WebDriverWait(browser, 60, poll_frequency=0.1).until(streamed)
            assert partial_seen, "tokens appeared before the answer was complete"
            assert any("5059" not in seen for seen in partial_seen), partial_seen
            final = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")[-1]
            assert "成立5059个网格党组织[1]" in final.text and "▌" not in final.text
            _settle(browser)
            assert (
                "大模型最近一次调用失败"
                not in browser.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text
            )
