"""`python -m service`: validate settings, then serve with uvicorn."""

from __future__ import annotations

import sys

from pydantic import ValidationError


def main() -> int:
    import uvicorn

    from service.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"invalid settings:\n{exc}", file=sys.stderr)
        return 2
    uvicorn.run("service.app:app", host=settings.host, port=settings.port, log_level=settings.log_level,
                workers=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
