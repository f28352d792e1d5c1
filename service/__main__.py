"""`python -m service`: validate settings, then serve with uvicorn."""

from __future__ import annotations

import sys

from pydantic import ValidationError


def main() -> int:
    import uvicorn

    from service.logs import configure_logging
    from service.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        # Field and reason only: the input may hold API keys, which must never reach a log.
        reasons = "\n".join(f"  {'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
                            for e in exc.errors(include_input=False, include_url=False))
        print(f"invalid settings:\n{reasons}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    # log_config=None: uvicorn's loggers go through our JSON handler; access_log=False: the request
    # middleware writes the one access line per request (with request id, route, role and duration).
    uvicorn.run("service.app:app", host=settings.host, port=settings.port, log_level=settings.log_level,
                workers=1, log_config=None, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
