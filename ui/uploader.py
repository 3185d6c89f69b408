"""The report upload widget in Chinese, with the one file limit the app really enforces.

Streamlit has no locale option and no parameters for the dropzone's own words ("Upload",
"20MB per file • PDF", the drag overlay; streamlit/streamlit#13500 is open), so our own static
CSS, built only from settings and the supported suffixes (never report or model text), hides
them and shows Chinese in their place, scoped to this widget's key.
"""

from __future__ import annotations

import streamlit as st

MIB = 1024 * 1024


def upload_limit_mb(max_file_bytes: int, server_cap_mb: int | None = None) -> int:
    """Whole megabytes a file may have: both the app's check on indexing and the server's
    upload cap (`server.maxUploadSize`) accept every file up to this size."""
    limit = max_file_bytes // MIB
    if server_cap_mb is None:
        server_cap_mb = int(st.get_option("server.maxUploadSize"))
    return max(1, min(limit, server_cap_mb))


def _css_string(text: str) -> str:
    """`text` as a CSS string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


def dropzone_css(key: str, limit_mb: int, kinds: list[str]) -> str:
    """CSS that replaces the English of the uploader whose key is `key`."""
    scope = f".st-key-{key}"
    zone = f'{scope} [data-testid="stFileUploaderDropzone"]'
    types = "、".join(k.lstrip(".").upper() for k in kinds)
    instructions = f"拖放文件到这里，或点“选择文件”。每个文件不超过 {limit_mb} MB，支持 {types}"
    rejected = f"超过 {limit_mb} MB 或格式不支持，不会上传，请移除"
    # The English is kept in the DOM (font-size 0) so layout and the file input keep working;
    # the Chinese is drawn by ::after at the size Streamlit uses for that text. A refused
    # file's hover tooltip is drawn outside the widget, so that rule cannot be scoped; on this
    # page only this widget has such errors.
    return f"""<style>
{zone} button[data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p {{
  font-size: 0;
}}
{zone} button[data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p::after {{
  content: "选择文件"; font-size: 0.875rem;
}}
{zone} [data-testid="stFileUploaderDropzoneInstructions"] span {{ font-size: 0; }}
{zone} [data-testid="stFileUploaderDropzoneInstructions"] span::after {{
  content: {_css_string(instructions)}; font-size: 0.875rem;
}}
{zone} > div:not([data-testid]):not(:has([data-testid])) span {{ font-size: 0; }}
{zone} > div:not([data-testid]):not(:has([data-testid])) span::after {{
  content: "松开鼠标，添加这些文件"; font-size: 1rem;
}}
{zone} [data-testid="stFileChip"][aria-invalid="true"] [data-testid="stFileChipName"] + div::after {{
  content: {_css_string(" · " + rejected)}; color: #c62828;
}}
div[data-testid="stTooltipErrorContent"] {{ font-size: 0; }}
div[data-testid="stTooltipErrorContent"]::after {{
  content: {_css_string(rejected)}; font-size: 0.875rem;
}}
</style>"""


def report_uploader(label: str, *, key: str, kinds: list[str], limit_mb: int, help: str) -> list:
    """`st.file_uploader` for several reports, its own words in Chinese and its size check
    at `limit_mb`."""
    st.html(dropzone_css(key, limit_mb, kinds))
    return st.file_uploader(
        label,
        type=[k.lstrip(".") for k in kinds],
        accept_multiple_files=True,
        key=key,
        max_upload_size=limit_mb,
        help=help,
    )
