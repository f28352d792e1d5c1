"""`WEGWIJZER_STORE_URL`: which store the service uses.

* `sqlite:///var/wegwijzer.sqlite3` (relative path) or `sqlite:////abs/path.sqlite3`: one file, one process;
* `postgresql://user:password@host:5432/dbname` (also `postgres://` and `postgresql+psycopg://`): one
  database shared by any number of service replicas.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

SQLITE, POSTGRESQL = "sqlite", "postgresql"
_PG_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}


@dataclass(frozen=True)
class StoreUrl:
    dialect: str  # "sqlite" or "postgresql"
    url: str  # as given (PostgreSQL: normalised to postgresql://)
    path: Path | None = None  # SQLite only

    @property
    def conninfo(self) -> str:
        """What psycopg connects with (PostgreSQL only)."""
        return self.url

    @property
    def sqlalchemy_url(self) -> str:
        if self.dialect == SQLITE:
            return f"sqlite:///{self.path}"
        return "postgresql+psycopg://" + self.url.split("://", 1)[1]

    def redacted(self) -> str:
        """The URL without its password (for logs and errors)."""
        if self.dialect == SQLITE:
            return self.url
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return parts._replace(netloc=netloc).geturl()


def parse_store_url(value: str | Path) -> StoreUrl:
    """A store URL, or a bare path (taken as a SQLite file). Raises ValueError with the reason."""
    text = str(value).strip()
    if "://" not in text:
        if not text:
            raise ValueError("the store URL is empty")
        return StoreUrl(SQLITE, f"sqlite:///{text}", Path(text))
    scheme, rest = text.split("://", 1)
    scheme = scheme.lower()
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise ValueError(f"a SQLite store URL is sqlite:///relative/path or sqlite:////absolute/path, got {text!r}")
        path = rest[1:]
        if path in ("", ":memory:"):
            raise ValueError("the SQLite store must be a file (an in-memory database would lose every write)")
        return StoreUrl(SQLITE, f"sqlite:///{path}", Path(path))
    if scheme in _PG_SCHEMES:
        normalised = "postgresql://" + rest
        parts = urlsplit(normalised)
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ValueError(f"bad port in the PostgreSQL store URL: {exc}") from exc
        if not parts.path.strip("/") and "dbname=" not in (parts.query or ""):
            raise ValueError("a PostgreSQL store URL names its database: postgresql://user:password@host:5432/dbname")
        return StoreUrl(POSTGRESQL, normalised)
    raise ValueError(f"unknown store URL scheme {scheme!r}: use sqlite:///path or postgresql://host/dbname")
