"""Jinja2 templates, Dutch names of heads and labels, and the headers every console response gets."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from service.console.access import Viewer
from service.console.session import COOKIE, COOKIE_PATH

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

HEAD_NAMES = {"topic": "Onderwerp", "product": "Product", "sentiment": "Sentiment", "urgency": "Urgentie",
              "route": "Route"}
LABEL_NAMES = {
    "topic": {"billing": "Rekening en betalen", "contract": "Abonnement", "network": "Mobiel netwerk",
              "home_internet": "Internet en tv thuis", "device": "Toestel", "roaming": "Buitenland",
              "sim": "Simkaart en eSIM", "account": "Account en app", "security": "Veiligheid en fraude",
              "other": "Overig"},
    "product": {"apple": "Apple", "samsung": "Samsung", "other_device": "Ander toestel", "modem_tv": "Modem en tv",
                "sim_only": "Sim-only", "prepaid": "Prepaid", "none": "Geen product"},
    "sentiment": {"negative": "negatief", "neutral": "neutraal", "positive": "positief"},
    "urgency": {"low": "laag", "normal": "normaal", "high": "hoog", "critical": "kritiek"},
    "route": {"peers": "Community", "klantexpert": "Klantexpert", "webcare": "Webcare"},
}
# Same-origin everything: no inline scripts or styles, no third-party requests, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages hold (redacted) customer posts: not for shared caches or the back button
}


def head_name(head: str) -> str:
    return HEAD_NAMES.get(head, head)


def label_name(head: str, label: str | None) -> str:
    if label is None:
        return "–"
    return LABEL_NAMES.get(head, {}).get(label, label)


def web_link(url: object) -> str | None:
    """The URL when it is an http(s) link (for href), else None: no javascript: or data: links."""
    return url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) else None


def percent(value: float | None) -> str:
    return "–" if value is None else f"{round(float(value) * 100)}%"


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=4)
def environment(timezone: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    zone = _zone(timezone)

    def when(ts: float | None) -> str:
        return "–" if ts is None else datetime.fromtimestamp(ts, zone).strftime("%d-%m-%Y %H:%M")

    def when_iso(ts: float | None) -> str:
        return "" if ts is None else datetime.fromtimestamp(ts, zone).isoformat(timespec="seconds")

    env.filters.update(pct=percent, when=when, when_iso=when_iso)
    env.globals.update(head_name=head_name, label_name=label_name, web_link=web_link, timezone=timezone)
    return env


def render(request: Request, template: str, context: dict[str, Any]) -> str:
    return environment(request.app.state.settings.console_timezone).get_template(template).render(context)


def finish(response: Response, request: Request, viewer: Viewer | None) -> Response:
    """Security headers, and the session cookie when the viewer got a new session."""
    response.headers.update(SECURITY_HEADERS)
    if viewer is not None and viewer.new_cookie is not None:
        set_session_cookie(response, request, viewer.new_cookie,
                           request.app.state.settings.console_session_hours if viewer.session.signed_in else None)
    return response


def set_session_cookie(response: Response, request: Request, value: str, hours: float | None) -> None:
    response.set_cookie(COOKIE, value, max_age=None if hours is None else int(hours * 3600), path=COOKIE_PATH,
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")


def page(request: Request, viewer: Viewer, template: str, status_code: int = 200, **context: Any) -> Response:
    body = render(request, template, {"viewer": viewer, "active": "", **context})
    return finish(HTMLResponse(body, status_code=status_code), request, viewer)


def redirect(request: Request, viewer: Viewer | None, url: str) -> Response:
    return finish(RedirectResponse(url, status_code=303), request, viewer)


def json_reply(request: Request, viewer: Viewer | None, data: Any, status_code: int = 200) -> Response:
    return finish(JSONResponse(data, status_code=status_code), request, viewer)
