"""Files a page hands over: a PDF shown in the browser or a workbook saved, named for what it
holds (盘点表-PD-2026-000001-新坝镇储备室.pdf) with an ASCII name for clients that cannot read
RFC 5987; and a PDF refused with a clear message when the server has no CJK font."""

import re
from urllib.parse import quote

from flask import Response, current_app
from flask_babel import gettext as _

from inventory.errors import Unavailable
from inventory.labels import pdf

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
# Characters a file name may not hold on Windows, Android or a USB stick, and runs of spaces.
_UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f\s]+')
_UNSAFE_IN_ASCII = re.compile(r"[^A-Za-z0-9._-]+")


def download(document: bytes, *, parts, ascii_parts, extension: str) -> Response:
    """``document`` as a .pdf (inline) or .xlsx (attachment) named by the non-empty ``parts``
    joined with "-", and by ``ascii_parts`` for the fallback name."""
    name = "-".join(_UNSAFE_IN_NAMES.sub("_", part).strip("_") for part in parts if part) + extension
    fallback = "-".join(_UNSAFE_IN_ASCII.sub("_", part).strip("_") for part in ascii_parts if part) + extension
    how = "inline" if extension == ".pdf" else "attachment"
    disposition = f"{how}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(document, mimetype=PDF if extension == ".pdf" else XLSX,
                    headers={"Content-Disposition": disposition})


def rendered_pdf(render, *, what: str) -> bytes:
    """``render()``'s PDF; without a CJK font, Unavailable (503) saying what to install, and the
    log naming ``what`` could not be made."""
    try:
        return render()
    except pdf.FontMissing:
        current_app.logger.error("no CJK font for %s PDFs: apt-get install fonts-wqy-zenhei", what)
        raise Unavailable(_("服务器缺少中文字体，无法生成 PDF（请安装 fonts-wqy-zenhei）")) from None
