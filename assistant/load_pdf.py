"""Text of a PDF report, page by page; encrypted, corrupt and image-only files are refused."""

from __future__ import annotations

import io

from assistant.loading import Loaded, LoadError


def read(name: str, data: bytes, *, max_chars: int, max_bytes: int) -> Loaded:
    """`data` (the bytes of file `name`) loaded; raises LoadError with a Chinese reason."""
    return Loaded(pdf_text(name, data, max_chars=max_chars), "pdf")


def pdf_text(name: str, data: bytes, *, max_chars: int) -> str:
    """Text of every page; refuses encrypted, corrupt and image-only PDFs."""
    corrupt = "不是有效的 PDF 文件,或文件已损坏。请用 PDF 阅读器打开确认后重新导出再上传。"
    if b"%PDF-" not in data[:1024]:
        raise LoadError(name, corrupt)
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError(name, "PDF 已加密(设置了密码或权限保护)。请先解除加密后再上传。")
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            total += len(text)
            if total > max_chars:
                raise LoadError(name, f"文字太长(超过 {max_chars} 字)。请拆分后再上传。")
            pages.append(text)
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise LoadError(name, corrupt) from exc
    except Exception as exc:  # pypdf can fail in many ways on hostile input
        raise LoadError(name, corrupt) from exc
    text = "\n\n".join(pages)
    if not text.strip():
        raise LoadError(
            name,
            "PDF 中没有可提取的文字(可能是扫描图片)。请先做文字识别(OCR)或上传文字版。",
        )
    return text
