"""QR codes of scan URLs. segno's make_qr, never make (which picks Micro QR that phones cannot
read), error correction M exactly (ECOSYSTEM.md §4). Payloads are ASCII URLs only."""

import io
from urllib.parse import urlencode

import segno
from flask import current_app, request


def scan_url(label: str) -> str:
    """What a stock item's QR code says: ``{PUBLIC_BASE_URL}/s/{label}``."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/s/{label}"


def site_scan_url(code: str) -> str:
    """What a storeroom door's QR code says: ``{PUBLIC_BASE_URL}/s/site/{code}``."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/s/site/{code}"


def offline_app_url(fields: dict) -> str:
    """What a paper form's row says: the offline app's address with the row's fields after the
    ``#`` (never sent to the server), ``{PUBLIC_BASE_URL}/offline/app#kind=issue&key=…``."""
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    return f"{base}/offline/app#{urlencode(fields)}"


def make(payload: str) -> segno.QRCode:
    return segno.make_qr(payload, error="m", boost_error=False)


def png(payload: str, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    make(payload).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def svg(payload: str) -> bytes:
    buffer = io.BytesIO()
    make(payload).save(buffer, kind="svg", scale=4, border=4, xmldecl=True, svgns=True,
                       title=payload)
    return buffer.getvalue()
