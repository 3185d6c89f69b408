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
def downloads(tmp_path: Path) -> Path:
    """Where the browser saves downloaded files."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


@pytest.fixture
def browser(tmp_path: Path, downloads: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not fetch a driver
    options = Options()
    options.binary_location = str(CHROMIUM)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
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
    # Headless Chromium ignores the profile's download folder unless told through DevTools.
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
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


def _click(driver, element) -> None:
    """Click an element of the chat page after scrolling it to the middle of the window: the chat
    input is pinned at the bottom, and an element just above it is covered by that container."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    WebDriverWait(driver, 10).until(lambda d: element.is_displayed())
    element.click()


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
    _click(browser, sources[0])
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

    # [1] in the answer's text is a link to its source: the page scrolls there and the
    # closed 来源 expander opens, with the quoted words.
    answer = _messages(browser)[-1]
    inline = next(
        a
        for a in answer.find_elements(By.CSS_SELECTOR, "[data-testid='stMarkdown'] a")
        if a.text == "[1]"
    )
    target = (inline.get_attribute("href") or "").split("#", 1)[1]
    assert target.startswith("cite-") and not inline.get_attribute("target")
    details = browser.find_element(By.ID, target).find_element(By.XPATH, "ancestor::details")
    assert not details.get_attribute("open")
    inline.click()
    WebDriverWait(browser, 10).until(lambda d: details.get_attribute("open") is not None)
    assert browser.current_url.startswith(url) and "c=" in browser.current_url
    top, bottom, height = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom, innerHeight]",
        details,
    )
    assert 0 <= top < height, (top, bottom, height)  # scrolled to it
    assert "6331" in details.text and "[1] 大连市" in details.text
    _settle(browser)

    # [1] under the answer opens the cited words with where they are.
    answer = _messages(browser)[-1]
    first = next(
        b
        for b in answer.find_elements(By.CSS_SELECTOR, "[data-testid='stPopover'] button")
        if b.text.startswith("[1]")
    )
    _click(browser, first)
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


def _downloaded(folder: Path, suffix: str, timeout: float = 60) -> Path:
    """The one finished download ending in `suffix` (Chromium writes .crdownload first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [f for f in folder.glob(f"*{suffix}") if f.stat().st_size > 0]
        if done and not list(folder.glob("*.crdownload")):
            assert len(done) == 1, done
            return done[0]
        time.sleep(0.3)
    raise AssertionError(f"no {suffix} downloaded: {sorted(p.name for p in folder.iterdir())}")


def _check_docx(path: Path) -> None:
    """A4, 仿宋 body, the reference with title and quoted words, no mode note in the body."""
    import docx
    from docx.oxml.ns import qn
    from docx.shared import Mm

    document = docx.Document(str(path))
    for section in document.sections:
        assert abs(section.page_width - Mm(210)) < Mm(1), section.page_width
        assert abs(section.page_height - Mm(297)) < Mm(1), section.page_height
    fonts = document.styles["Normal"].element.rPr.rFonts
    assert "仿宋" in fonts.get(qn("w:eastAsia")), fonts.attrib
    texts = [p.text for p in document.paragraphs]
    notes_at = texts.index("说明")
    body = "\n".join(texts[:notes_at])
    assert "离线摘录模式" not in body and "回答方式" not in body
    assert "6331" in body and "[1]" in body
    references = texts[texts.index("参考资料") + 1 : notes_at]
    first = next(t for t in references if t.startswith("[1] "))
    assert "大连市" in first and "《强基固本筑堡垒 凝心聚力促振兴》" in first, first
    quoted = re.search(r"“(.+)”", first)
    assert quoted and "6331" in quoted.group(1) and len(quoted.group(1)) < 200, first
    assert "离线摘录" in "\n".join(texts[notes_at:])  # who answered goes in the 说明
    assert document.core_properties.author == "党建报告问答助手"
    assert "python-docx" not in (document.core_properties.comments or "")


def _check_markdown(path: Path) -> None:
    """Plain [n], a numbered reference list, no footnote syntax, escapes or internal ids."""
    text = path.read_text(encoding="utf-8")
    assert "[1]" in text and "6331" in text
    assert "[^" not in text and "\\" not in text
    assert not re.search(r"\d{3}_[0-9a-f]{8,}", text), text  # doc / chunk ids
    lines = text.splitlines()
    references = lines[lines.index("## 参考资料") + 1 : lines.index("## 说明")]
    numbered = [line for line in references if line.strip()]
    assert numbered and all(re.match(r"\[\d+\] ", line) for line in numbered), numbered
    assert [int(re.match(r"\[(\d+)\]", line).group(1)) for line in numbered] == list(
        range(1, len(numbered) + 1)
    )
    assert "《强基固本筑堡垒 凝心聚力促振兴》" in numbered[0] and "6331" in numbered[0]
    assert "离线摘录模式" not in "\n".join(lines[: lines.index("## 说明")])


def test_browser_downloads_the_answer_as_docx_and_markdown(app_url, browser, downloads):
    """复制为简报 under an answer: the .docx and .md downloads are the official-format briefs."""
    browser.get(app_url)
    answer = _ask(browser, QUESTION)
    _settle(browser)
    export = next(
        s
        for s in answer.find_elements(By.CSS_SELECTOR, "[data-testid='stExpander'] summary")
        if "复制为简报" in s.text
    )
    _click(browser, export)
    for label, suffix, check in (
        ("下载 .docx", ".docx", _check_docx),
        ("下载 .md", ".md", _check_markdown),
    ):
        button = WebDriverWait(browser, 30).until(
            lambda d, label=label: next(
                (
                    b
                    for b in answer.find_elements(
                        By.CSS_SELECTOR, "[data-testid='stDownloadButton'] button"
                    )
                    if label in b.text and b.is_displayed()
                ),
                False,
            )
        )
        _click(browser, button)
        check(_downloaded(downloads, suffix))
    assert "Traceback" not in browser.page_source


def test_browser_upload_widget_speaks_chinese_with_the_real_limit(
    seeded_cache, isolated_env, browser, tmp_path
):
    """资料库 › 上传报告: no English from Streamlit's dropzone (or its skip link) on screen, the limit of the
    app's own check (1 MB here), and a file over it marked in Chinese and not uploaded."""
    workdir = tmp_path / "upload"
    workdir.mkdir()
    env = _app_env(
        seeded_cache, isolated_env, ASSISTANT_OFFLINE="true", ASSISTANT_MAX_FILE_BYTES="1048576"
    )
    with _serve(PROJECT_ROOT / "ui" / "app.py", workdir, env, tmp_path / "upload.log") as url:
        browser.get(f"{url}/library")
        tab = WebDriverWait(browser, 180).until(
            lambda d: next(
                (t for t in d.find_elements(By.CSS_SELECTOR, "[role='tab']") if "上传" in t.text),
                False,
            )
        )
        # The first Tab focuses Streamlit's skip link, which says 跳到正文.
        webdriver.ActionChains(browser).send_keys(Keys.TAB).perform()
        skip = browser.find_element(By.CSS_SELECTOR, "[data-testid='stSkipToContent']")
        WebDriverWait(browser, 10).until(
            lambda d: d.execute_script("return document.activeElement === arguments[0]", skip)
        )
        assert browser.execute_script(
            "const s = getComputedStyle(arguments[0]);"
            "return [s.fontSize, getComputedStyle(arguments[0], '::after').content]",
            skip,
        ) == ["0px", '"跳到正文"']
        tab.click()
        uploader = WebDriverWait(browser, 30).until(
            ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid='stFileUploader']"))
        )
        _settle(browser)
        assert "不超过 1 MB" in uploader.find_element(By.CSS_SELECTOR, "label").text
        main = browser.find_element(By.CSS_SELECTOR, "[data-testid='stMain']")
        assert "单个文件不超过 1 MB" in main.text

        def drawn(selector: str) -> tuple[str, str]:
            """(font size of the element's own text, the text its ::after draws)."""
            return tuple(
                browser.execute_script(
                    "const e = arguments[0].querySelector(arguments[1]);"
                    "return [getComputedStyle(e).fontSize,"
                    " getComputedStyle(e, '::after').content];",
                    uploader,
                    selector,
                )
            )

        button = (
            "[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer'] p"
        )
        assert drawn(button) == ("0px", '"选择文件"')
        size, text = drawn("[data-testid='stFileUploaderDropzoneInstructions'] span")
        assert size == "0px" and "每个文件不超过 1 MB" in text and "PDF" in text, text
        browser.save_screenshot(str(tmp_path / "upload.png"))

        # While files are dragged over it, the overlay speaks Chinese too.
        browser.execute_script(
            "const z = arguments[0].querySelector('[data-testid=stFileUploaderDropzone]');"
            "const dt = new DataTransfer();"
            "dt.items.add(new File(['x'], 'a.txt', {type: 'text/plain'}));"
            "z.dispatchEvent(new DragEvent('dragenter',"
            " {bubbles: true, cancelable: true, dataTransfer: dt}));",
            uploader,
        )
        overlay = "[data-testid='stFileUploaderDropzone'] > div:not([data-testid]) span"
        WebDriverWait(browser, 10).until(lambda d: uploader.find_elements(By.CSS_SELECTOR, overlay))
        assert drawn(overlay) == ("0px", '"松开鼠标，添加这些文件"')
        browser.execute_script(
            "arguments[0].querySelector('[data-testid=stFileUploaderDropzone]')"
            ".dispatchEvent(new DragEvent('dragleave', {bubbles: true}));",
            uploader,
        )

        big = tmp_path / "太大的报告.txt"
        big.write_bytes(("测试区党建工作。" * 60_000).encode("utf-8"))  # about 1.4 MB
        field = uploader.find_element(
            By.CSS_SELECTOR, "[data-testid='stFileUploaderDropzoneInput']"
        )
        field.send_keys(str(big))
        chip = WebDriverWait(browser, 30).until(
            lambda d: uploader.find_element(
                By.CSS_SELECTOR, "[data-testid='stFileChip'][aria-invalid='true']"
            )
        )
        note = browser.execute_script(
            "return getComputedStyle(arguments[0].querySelector("
            "'[data-testid=stFileChipName] + div'), '::after').content",
            chip,
        )
        assert "超过 1 MB 或格式不支持" in note, note
        webdriver.ActionChains(browser).move_to_element(chip).perform()  # its error tooltip
        tip = WebDriverWait(browser, 10).until(
            ec.visibility_of_element_located(
                (By.CSS_SELECTOR, "[data-testid='stTooltipErrorContent']")
            )
        )
        assert browser.execute_script(
            "const s = getComputedStyle(arguments[0]);"
            "return [s.fontSize, getComputedStyle(arguments[0], '::after').content]",
            tip,
        ) == ["0px", '"超过 1 MB 或格式不支持，不会上传，请移除"']
        _settle(browser)
        start = next(b for b in main.find_elements(By.TAG_NAME, "button") if "开始索引" in b.text)
        assert not start.is_enabled()  # the refused file never reached the app
        browser.save_screenshot(str(tmp_path / "upload-refused.png"))
        assert "Traceback" not in browser.page_source


@pytest.mark.skipif(not os.environ.get("UPDATE_SCREENSHOTS"), reason="set UPDATE_SCREENSHOTS=1")
def test_readme_screenshots(app_url, browser):
    """docs/screenshots/chat.png and compare.png, taken with the same browser setup."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1400, 1300)
    browser.get(app_url)
    answer = _ask(browser, QUESTION)
    _click(browser, answer.find_elements(By.CSS_SELECTOR, "[data-testid='stExpander'] summary")[0])
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
            _click(browser, summary)
        _settle(browser)
        main = browser.find_element(By.CSS_SELECTOR, "[data-testid='stMain']")
        assert "<script>window.__pwned = 1</script>" in main.text  # shown as text
        assert "未核实" in main.text
        assert browser.execute_script("return window.__pwned === undefined")
        assert not main.find_elements(By.CSS_SELECTOR, "[data-testid='stMarkdown'] img")
        hrefs = [a.get_attribute("href") or "" for a in main.find_elements(By.TAG_NAME, "a")]
        assert not [h for h in hrefs if "127.0.0.1:9/" in h or "javascript" in h or "evil" in h]
        # The only links are the answer's [n] to its own sources on this page.
        assert hrefs and all(h.startswith(url) and "#cite-hostile-" in h for h in hrefs), hrefs
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
