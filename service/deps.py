"""Typed dependencies for the routers.

They are `async def` on purpose: none of them blocks, and FastAPI runs a sync dependency in the
thread pool, one hop (50–80 µs on the shared 2-core machine, more under load) per dependency per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from service.batching import MicroBatcher
from service.settings import Settings
from service.triage import Engine


async def get_engine(request: Request) -> Engine:
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        raise HTTPException(503, "model and store are still loading")
    return engine


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_batcher(request: Request, engine: Annotated[Engine, Depends(get_engine)]) -> MicroBatcher:
    return request.app.state.batcher


EngineDep = Annotated[Engine, Depends(get_engine)]
BatcherDep = Annotated[MicroBatcher, Depends(get_batcher)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def check_text_limits(title: str, body: str, settings: Settings, where: str = "body") -> None:
    if len(body) > settings.max_body_chars:
        raise HTTPException(413, f"{where} has {len(body)} characters; the limit is {settings.max_body_chars}")
    if len(title) > settings.max_title_chars:
        raise HTTPException(413, f"title has {len(title)} characters; the limit is {settings.max_title_chars}")
