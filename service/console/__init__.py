"""The web console for webcare and moderators (issue 15): server-rendered pages under /console.

    sign_in.py     sign in with an API key, sign out          session.py  signed cookie, CSRF token
    inbox.py       newest triaged posts, filters, live update  access.py   viewer, scopes, CSRF check
    posts.py       one post; correct, mark solved, copy reply  render.py   templates, headers, cookie
    incidents.py   open incidents, sparkline, status, close    sparkline.py  posts per 10 minutes
    knowledge.py   search, view, add, edit, delete answers     templates/, static/  pages, CSS, JS
    model_page.py  model card, label sets, metrics, plots

Pages reuse the service's own parts (triage log, incident service, feedback and answer writing,
the vector index); nothing here is a second implementation of them.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from service.console import inbox, incidents, knowledge, model_page, posts, sign_in
from service.console.access import CsrfFailed, Forbidden, SignInNeeded, current_viewer
from service.console.problems import Problem
from service.console.render import STATIC, json_reply, page, redirect


def install(app: FastAPI) -> None:
    for module in (sign_in, inbox, posts, incidents, knowledge, model_page):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, exc: SignInNeeded) -> Response:
        viewer = current_viewer(request)
        if exc.wants_json:
            return json_reply(request, viewer, {"detail": "niet aangemeld of sessie verlopen"}, 401)
        return redirect(request, viewer, "/console/login?" + urlencode({"next": exc.next_path}))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return page(request, exc.viewer, "error.html", 403, title="Geen toegang", back="/console",
                    problems=[Problem("rol", exc.reason)])

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return page(request, exc.viewer, "error.html", 403, title="Formulier verlopen", back="/console",
                    problems=[Problem("csrf_token", "het formulier hoort niet bij deze sessie (verlopen, of van een "
                                                    "andere site); laad de pagina opnieuw en probeer het nog eens")])
