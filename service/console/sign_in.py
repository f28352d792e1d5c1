"""Sign in with an API key, sign out, and the console's front door."""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Request, Response

from service.console.access import ViewerDep, checked_form, console_roles, per_settings, signer_of
from service.console.problems import Problem
from service.console.render import page, redirect, set_session_cookie
from service.console.throttle import FailedSignIns

router = APIRouter(prefix="/console", include_in_schema=False)
log = logging.getLogger("wegwijzer.console")
NEXT = re.compile(r"/console(/[A-Za-z0-9._:~/-]*)?(\?[A-Za-z0-9._:~=&%+-]*)?")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    if value and NEXT.fullmatch(value) and not re.search(r"//|/\.|%2e|%2f|%5c", value, re.IGNORECASE):
        return value
    return "/console/inbox"


def failed_sign_ins(request: Request) -> FailedSignIns:
    return per_settings(request, "throttle", lambda s: FailedSignIns(s.console_sign_in_max_failures,
                                                                     s.console_sign_in_window_s))


@router.get("")
def home(request: Request, viewer: ViewerDep) -> Response:
    if viewer.role is None:
        return redirect(request, viewer, "/console/login")
    return redirect(request, viewer, "/console/inbox" if viewer.can("feedback") else "/console/login")


@router.get("/login")
def login_form(request: Request, viewer: ViewerDep) -> Response:
    if not viewer.auth_enabled:
        return redirect(request, viewer, "/console/inbox")
    return page(request, viewer, "login.html", next=safe_next(request.query_params.get("next")), problems=[])


@router.post("/login")
async def login(request: Request, viewer: ViewerDep) -> Response:
    form = await checked_form(request, viewer)
    target = safe_next(str(form.get("next") or ""))
    if not viewer.auth_enabled:
        return redirect(request, viewer, target)
    key = str(form.get("api_key") or "").strip()
    throttle, client = failed_sign_ins(request), request.client.host if request.client else "unknown"
    wait = throttle.retry_after(client)
    if wait:
        log.warning("console sign-in refused: too many failed attempts from one address")
        response = page(request, viewer, "login.html", 429, next=target, problems=[Problem(
            "api_key", f"te veel mislukte pogingen; probeer het over {wait} seconden opnieuw")])
        response.headers["Retry-After"] = str(wait)
        return response
    signer = signer_of(request)
    role = signer.role_of_key(key) if key else None
    if role is None:
        if key:
            throttle.failed(client)
        log.info("console sign-in refused: %s", "no key" if not key else "unknown key")  # never the key
        reason = "vul je API-sleutel in" if not key else "deze API-sleutel is onbekend"
        return page(request, viewer, "login.html", 401 if key else 422, next=target,
                    problems=[Problem("api_key", reason)])
    if role not in console_roles():
        log.info("console sign-in refused: role %s has no console scopes", role)
        return page(request, viewer, "login.html", 403, next=target, problems=[Problem(
            "api_key", f"deze sleutel hoort bij de rol {role}; die heeft geen toegang tot de console")])
    throttle.succeeded(client)
    session = signer.new(role, key)  # a new nonce: a session (and CSRF token) from before sign-in is void
    response = redirect(request, None, target)
    set_session_cookie(response, request, signer.dump(session), request.app.state.settings.console_session_hours)
    log.info("console sign-in: role %s", role)
    return response


@router.post("/logout")
async def logout(request: Request, viewer: ViewerDep) -> Response:
    await checked_form(request, viewer)
    signer = signer_of(request)
    response = redirect(request, None, "/console/login")
    set_session_cookie(response, request, signer.dump(signer.new()), None)
    return response
