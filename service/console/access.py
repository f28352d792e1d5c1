"""Who is looking: the session of a console request, the scopes of its role, and the CSRF check.

Scopes are the API's (service.settings.ROLE_SCOPES): a page needs the scope of the API calls it
stands for (inbox and posts: `feedback`; incidents: `incidents`; knowledge base: `answers`;
model: `model`). `forum` has none of them, so it gets nothing here. With auth disabled every
visitor is `admin`, as in the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from starlette.datastructures import FormData

from service.console.session import COOKIE, Session, SessionSigner
from service.settings import ROLE_SCOPES, Settings

T = TypeVar("T")

CONSOLE_SCOPES = ("feedback", "incidents", "answers", "model")


def console_roles() -> list[str]:
    """Roles that may use the console at all (webcare and admin with the default scopes)."""
    return [role for role, scopes in ROLE_SCOPES.items() if scopes & set(CONSOLE_SCOPES)]


@dataclass
class Viewer:
    session: Session
    role: str | None  # the effective role: the session's, or admin with auth disabled
    csrf_token: str
    auth_enabled: bool
    new_cookie: str | None = None  # a fresh session to send with the response

    def can(self, scope: str) -> bool:
        return self.role is not None and scope in ROLE_SCOPES.get(self.role, set())


class SignInNeeded(Exception):
    def __init__(self, next_path: str, wants_json: bool) -> None:
        super().__init__(next_path)
        self.next_path, self.wants_json = next_path, wants_json


class Forbidden(Exception):
    def __init__(self, viewer: Viewer, reason: str) -> None:
        super().__init__(reason)
        self.viewer, self.reason = viewer, reason


def per_settings(request: Request, name: str, make: Callable[[Settings], T]) -> T:
    """One object per app and settings object, made on first use (settings are read at start-up)."""
    settings: Settings = request.app.state.settings
    made = getattr(request.app.state, f"console_{name}", None)
    if made is None or getattr(request.app.state, f"console_{name}_for", None) is not settings:
        made = make(settings)
        setattr(request.app.state, f"console_{name}", made)
        setattr(request.app.state, f"console_{name}_for", settings)
    return made


def signer_of(request: Request) -> SessionSigner:
    return per_settings(request, "signer", SessionSigner)


def current_viewer(request: Request) -> Viewer:
    signer = signer_of(request)
    session = signer.load(request.cookies.get(COOKIE))
    new_cookie = None
    if session is None:
        session = signer.new()
        new_cookie = signer.dump(session)
    role = session.role if signer.auth_enabled else "admin"
    viewer = Viewer(session, role, signer.csrf_token(session), signer.auth_enabled, new_cookie)
    request.state.console_role = role  # for the access log line (never the key)
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def need(scope: str) -> Callable[[Request, Viewer], Viewer]:
    """A dependency: the viewer, signed in and allowed `scope`; else sign-in (401/redirect) or 403."""
    def check(request: Request, viewer: ViewerDep) -> Viewer:
        if viewer.role is None:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInNeeded(path, "application/json" in request.headers.get("accept", ""))
        if not viewer.can(scope):
            raise Forbidden(viewer, f"De rol {viewer.role} heeft geen toegang tot dit deel van de console "
                                    f"(nodig: {scope}).")
        return viewer
    return check


class CsrfFailed(Exception):
    def __init__(self, viewer: Viewer) -> None:
        super().__init__("csrf")
        self.viewer = viewer


async def checked_form(request: Request, viewer: Viewer) -> FormData:
    """The submitted form, after checking its CSRF token against the session."""
    form = await request.form()
    token = form.get("csrf_token")
    if not signer_of(request).csrf_ok(viewer.session, token if isinstance(token, str) else None):
        raise CsrfFailed(viewer)
    return form
