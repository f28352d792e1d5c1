"""API keys with scopes (forum, webcare, admin) from settings; auth can be disabled explicitly."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

from service.settings import Settings

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="API key; its role (forum, webcare, admin) sets the scopes")


def require_scope(scope: str) -> Callable:
    """A dependency (async: it does not block, so it runs in the event loop, not the thread pool)."""

    async def check(request: Request, key: str | None = Depends(api_key_header)) -> None:
        settings: Settings = request.app.state.settings
        if not settings.auth_enabled:
            return
        if not key:
            raise HTTPException(401, "missing API key: send it in the X-API-Key header",
                                headers={"WWW-Authenticate": "APIKey"})
        scopes = settings.scopes_for(key)
        if scopes is None:
            raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "APIKey"})
        if scope not in scopes:
            raise HTTPException(403, f"this API key's role may not use '{scope}' "
                                     f"(allowed: {', '.join(sorted(scopes))})")
    return check
