"""Inbox: the newest triaged posts with filters, paged with cursors, and the live update it polls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import QueryParams

from service import triage_log
from service.console.access import Viewer, need
from service.console.problems import Problem
from service.console.render import json_reply, page, render
from service.deps import EngineDep
from service.triage_log import Cursor, Listed, LogFilter

router = APIRouter(prefix="/console", include_in_schema=False)
LABEL_FILTERS = ("topic", "product", "urgency")  # heads the inbox filters on (when the model has them)
InboxViewer = Annotated[Viewer, Depends(need("feedback"))]


@dataclass
class InboxQuery:
    flt: LogFilter
    before: Cursor | None
    after: Cursor | None
    echo: dict[str, str]  # the filters as given, to keep them in links


def parse_query(params: QueryParams, label_sets: dict[str, list[str]]) -> tuple[InboxQuery, list[Problem]]:
    problems: list[Problem] = []
    flt, echo = LogFilter(), {}
    routes = label_sets.get("route", ["peers", "klantexpert", "webcare"])
    route = params.get("route") or ""
    if route:
        if route in routes:
            flt.route, echo["route"] = route, route
        else:
            problems.append(Problem("route", f"{route!r} is geen route ({', '.join(routes)})"))
    for head in LABEL_FILTERS:
        value = params.get(head) or ""
        if not value or head not in label_sets:
            continue
        if value in label_sets[head]:
            flt.labels[head], echo[head] = value, value
        else:
            problems.append(Problem(head, f"{value!r} is geen waarde van {head} ({', '.join(label_sets[head])})"))
    for name in ("uncertain", "incident"):
        value = params.get(name) or ""
        if value not in ("", "1"):
            problems.append(Problem(name, "alleen 1 (aan) of leeg (uit)"))
        elif value == "1":
            echo[name] = "1"
    flt.uncertain_only, flt.in_incident = "uncertain" in echo, "incident" in echo
    cursors: dict[str, Cursor | None] = {"before": None, "after": None}
    for name in cursors:
        given = params.get(name)
        if given:
            try:
                cursors[name] = Cursor.parse(given)
            except ValueError as exc:
                problems.append(Problem(name, f"ongeldige positie in de lijst: {exc}"))
    return InboxQuery(flt, cursors["before"], cursors["after"], echo), problems


def is_critical(post: Listed) -> bool:
    return post.labels.get("urgency", {}).get("label") == "critical"


def is_uncertain(post: Listed) -> bool:
    return any(v.get("uncertain") for v in post.labels.values())


def row_context(posts: list[Listed]) -> dict:
    return {"posts": posts, "is_critical": is_critical, "is_uncertain": is_uncertain}


@router.get("/inbox")
def inbox(request: Request, viewer: InboxViewer, engine: EngineDep) -> Response:
    settings = request.app.state.settings
    label_sets = engine.model.manifest.label_sets
    q, problems = parse_query(request.query_params, label_sets)
    if problems:
        return page(request, viewer, "error.html", 422, title="Ongeldig filter", problems=problems,
                    back="/console/inbox")
    size = settings.console_page_size
    posts = triage_log.recent(engine.store, q.flt, before=q.before, limit=size + 1)
    older = urlencode({**q.echo, "before": str(posts[size - 1].cursor)}) if len(posts) > size else None
    posts = posts[:size]
    live = q.before is None  # the first page follows new posts; older pages stay put
    return page(request, viewer, "inbox.html", active="inbox", label_sets=label_sets,
                filter_heads=[h for h in LABEL_FILTERS if h in label_sets],
                routes=label_sets.get("route", ["peers", "klantexpert", "webcare"]), q=q, older=older, live=live,
                filter_query=urlencode(q.echo), newest=str(posts[0].cursor) if posts else "",
                poll_ms=int(settings.console_poll_seconds * 1000), **row_context(posts))


@router.get("/inbox/updates")
def inbox_updates(request: Request, viewer: InboxViewer, engine: EngineDep) -> Response:
    """Posts logged after the cursor `after` (matching the filters), newest first, as rendered rows.
    `more` says there were more than a page of them: the page should then be reloaded."""
    q, problems = parse_query(request.query_params, engine.model.manifest.label_sets)
    if problems:
        return json_reply(request, viewer, {"detail": [p.__dict__ for p in problems]}, 422)
    size = request.app.state.settings.console_page_size
    posts = triage_log.recent(engine.store, q.flt, after=q.after, limit=size + 1)
    more, posts = len(posts) > size, posts[:size]
    html = render(request, "_post_rows.html", {"viewer": viewer, **row_context(posts)}) if posts else ""
    cursor = str(posts[0].cursor) if posts else (str(q.after) if q.after else "")
    return json_reply(request, viewer, {"count": len(posts), "html": html, "cursor": cursor, "more": more})
