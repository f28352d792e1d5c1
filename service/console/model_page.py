"""Model: the model card, label sets, thresholds, measured metrics and the evaluation plots (admin)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse

from service.console.access import Viewer, need
from service.console.problems import Problem
from service.console.render import finish, page
from service.deps import EngineDep
from service.settings import Settings

router = APIRouter(prefix="/console", include_in_schema=False)
ModelViewer = Annotated[Viewer, Depends(need("model"))]
PLOT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}\.png")
CAPTIONS = (("confusion_", "Verwarringsmatrix"), ("reliability_", "Betrouwbaarheidsdiagram"))


def plot_dirs(settings: Settings) -> list[Path]:
    if settings.console_reports_dir is not None:
        return [settings.console_reports_dir]
    return [settings.model_dir, settings.model_dir / "eval"]


def plots(settings: Settings) -> dict[str, Path]:
    """PNG plots by file name (the first folder wins), sorted: confusion matrices, reliability, the rest."""
    found: dict[str, Path] = {}
    for folder in plot_dirs(settings):
        if folder.is_dir():
            for path in sorted(folder.glob("*.png")):
                if PLOT_NAME.fullmatch(path.name) and path.is_file():
                    found.setdefault(path.name, path)
    order = {prefix: i for i, (prefix, _) in enumerate(CAPTIONS)}
    return dict(sorted(found.items(), key=lambda kv: (next((order[p] for p in order if kv[0].startswith(p)),
                                                           len(order)), kv[0])))


def caption(name: str) -> str:
    stem = name[:-4]
    for prefix, text in CAPTIONS:
        if stem.startswith(prefix):
            return f"{text}: {stem[len(prefix):]}"
    return "Beste score per zoekvraag" if stem == "top_scores" else stem.replace("_", " ")


def metric_rows(metrics: dict[str, Any], prefix: str = "", depth: int = 0) -> list[tuple[str, str, Any]]:
    """(group, metric, value) for every number or text up to three levels deep; lists are left out."""
    rows: list[tuple[str, str, Any]] = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            if depth < 2:
                rows += metric_rows(value, f"{prefix} · {key}" if prefix else key, depth + 1)
        elif not isinstance(value, list):
            rows.append((prefix or "–", key, round(value, 4) if isinstance(value, float) else value))
    return rows


@router.get("/model")
def model(request: Request, viewer: ModelViewer, engine: EngineDep) -> Response:
    settings: Settings = request.app.state.settings
    m = engine.model.manifest
    card_path = settings.model_dir / "README.md"
    card = card_path.read_text(encoding="utf-8") if card_path.is_file() else None
    heads = [{"head": h, "labels": labels, "threshold": m.thresholds.get(h), "temperature": m.calibration.get(h)}
             for h, labels in m.label_sets.items()]
    return page(request, viewer, "model.html", active="model", manifest=m, version=engine.version, heads=heads,
                retrieval_threshold=engine.model.retrieval_threshold, metrics=metric_rows(m.metrics), card=card,
                answerability=engine.model.answerability, policy=settings.policy_path.name,
                runtime=engine.model.selection.describe(),
                plots=[{"name": n, "caption": caption(n)} for n in plots(settings)])


@router.get("/model/plots/{name}")
def plot(name: str, request: Request, viewer: ModelViewer) -> Response:
    path = plots(request.app.state.settings).get(name)
    if path is None:
        return page(request, viewer, "error.html", 404, title="Grafiek niet gevonden", back="/console/model",
                    problems=[Problem("name", "geen grafiek met deze naam in de map van het model of de rapporten")])
    return finish(FileResponse(path, media_type="image/png"), request, viewer)
