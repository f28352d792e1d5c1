"""All service settings in one validated pydantic-settings object (env prefix WEGWIJZER_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.index import AnnConfig
from service.db.url import StoreUrl, parse_store_url

DEFAULT_POLICY = Path(__file__).with_name("default_policy.yaml")
MODEL_POLICY = "policy.yaml"  # a model directory's tuned policy

SCOPES = {"triage", "suggestions", "feedback", "answers", "model", "incidents", "experts", "threads"}
ROLE_SCOPES = {
    "forum": {"triage"},
    "webcare": {"triage", "suggestions", "feedback", "incidents", "experts"},
    "admin": {"triage", "suggestions", "feedback", "answers", "model", "incidents", "experts", "threads"},
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEGWIJZER_", env_file=".env", extra="ignore")

    model_dir: Path = Path("models/default")
    # The store: WEGWIJZER_STORE_URL, sqlite:///path (one process) or postgresql://user:pw@host/db (replicas);
    # when unset, the SQLite file WEGWIJZER_STORE_PATH (the shorthand; default var/wegwijzer.sqlite3).
    store_path: Path = Path("var/wegwijzer.sqlite3")
    store_url: str | None = None
    # PostgreSQL only: other replicas' writes (answers, experts) are applied on NOTIFY; this often the
    # change feed is also polled, in case a notification was lost.
    sync_poll_s: float = Field(5.0, gt=0, le=3600)
    # Routing rules. Unset: the model directory's policy.yaml (thresholds tuned on dev for that
    # model by `python -m eval tune-policy`) when it has one, else service/default_policy.yaml.
    policy_file: Path | None = None
    # Imported into an empty store at start (labels.md JSONL); None to start empty.
    seed_kb: Path | None = Path("training/data/kb.jsonl")
    # The answer index (models/index.py, service/snapshot.py). Snapshots of it are kept in index_dir (unset:
    # an `index` folder beside the SQLite store; on PostgreSQL only where index_dir is set, one per host)
    # so a restart loads instead of rebuilding; the store stays the source of truth. From ann_min_answers
    # live answers the index is an HNSW graph (ann_dtype vectors; candidates re-scored exactly) searched
    # with ef = ann_expansion_search, chosen by bench/ann.py on real queries against the 100k benchmark
    # knowledge base; exact search below.
    index_snapshots: bool = True
    index_dir: Path | None = None
    ann_min_answers: int = Field(10_000, ge=1)
    ann_expansion_search: int = Field(128, ge=8, le=4096)
    ann_connectivity: int = Field(32, ge=4, le=128)
    ann_expansion_add: int = Field(256, ge=8, le=4096)  # HNSW ef while building the graph
    ann_dtype: Literal["i8", "f16", "f32"] = "i8"
    ann_rerank: float = Field(4.0, ge=1, le=100)  # graph candidates per needed one, re-scored exactly
    ann_lexical_fetch: float | None = Field(None, ge=1, le=100)  # graph candidates per BM25 candidate (None: rerank)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # API keys: {"key": "role"} with role forum, webcare or admin (JSON in WEGWIJZER_API_KEYS).
    api_keys: dict[str, str] = Field(default_factory=dict)
    auth_enabled: bool = True
    intra_threads: int = Field(2, ge=1, le=64)
    # Which runtime runs the model (models/runtime): auto = OpenVINO where the model has its IR and
    # it passes the start-up parity check on this CPU, else onnxruntime. Precision of OpenVINO:
    # auto = bf16 on CPUs with AMX or AVX512-BF16, else f32.
    runtime: Literal["auto", "openvino", "onnxruntime"] = "auto"
    runtime_precision: Literal["auto", "bf16", "f32"] = "auto"
    # OpenVINO keeps compiled models in runtime_cache_dir (unset: an `openvino-cache` folder beside the
    # SQLite store; on PostgreSQL only where set), so a restart maps the compiled blob instead of reading
    # and compiling the IR: measured on the default model, model load (hash check, compile, probe)
    # 2.2 -> 1.6 s at the same RSS (bench/server_memory.py). The language detector's tables live there
    # too (`langid-*`, models/langid_tables.py): mapped instead of decompressed, 0.6 s CPU and ~42 MB
    # of private memory less per start. runtime_cache=false: compile and build at every start.
    runtime_cache: bool = True
    runtime_cache_dir: Path | None = None
    inter_threads: int = Field(1, ge=1, le=64)
    # onnxruntime worker threads busy-wait between ops; off, they leave the cores to numpy and
    # the other requests (measured by `make bench`).
    ort_spinning: bool = False
    # micro_batch_max > 1: single-post triage requests arriving within micro_batch_wait_ms share
    # one encoder batch. Off by default: on 2 cores a batch costs as much per post as single runs
    # (measured by `make bench`), and concurrent single runs use the cores better. Beyond
    # max_queue posts waiting or in flight, 503.
    micro_batch_max: int = Field(1, ge=1, le=256)
    micro_batch_wait_ms: float = Field(2.0, ge=0, le=100)
    max_queue: int = Field(64, ge=1, le=100_000)
    # Without micro-batching, at most this many posts run the model at once (the rest wait in
    # the queue). Measured at 50 req/s on the shipped KB (one 20 s run each): 4 -> 20.8 req/s
    # completed, 8 -> 33.4, 16 -> 36.8 (peak RSS 390 MB), no cap -> 34.5 (433 MB).
    max_running: int = Field(16, ge=1, le=256)
    request_timeout_s: float = Field(30.0, gt=0)
    max_body_chars: int = Field(20_000, ge=100)
    max_title_chars: int = Field(300, ge=10)
    max_batch: int = Field(256, ge=1, le=4096)
    max_thread_messages: int = Field(50, ge=1)
    max_suggestions: int = Field(3, ge=1, le=20)
    # Triage log and incidents (issue 13). Posts are kept this many days after they were stored.
    post_retention_days: float = Field(30, gt=0, le=3650)
    # Secret for the author key (HMAC-SHA256 of the author id); unset: one is generated and kept in the store.
    author_salt: SecretStr | None = None
    # Every this many seconds: close quiet incidents, purge posts and incidents past the retention period.
    purge_interval_s: float = Field(600, gt=0)
    # Incident thresholds, chosen on eval/data/incidents-tune.jsonl with the served model (`python -m eval
    # incidents-tune`, best of 558 settings: every tuning burst detected by its 3rd post, all burst posts assigned,
    # 0 false incidents); scored on incidents-eval.jsonl only.
    incident_similarity: float = Field(0.88, ge=-1, le=1)
    incident_join_similarity: float = Field(0.86, ge=-1, le=1)
    incident_min_authors: int = Field(3, ge=2, le=1000)
    incident_window_minutes: float = Field(30, gt=0, le=7 * 24 * 60)
    incident_quiet_minutes: float = Field(60, gt=0, le=7 * 24 * 60)
    # GET /v1/incidents lists open incidents and those closed within this many hours.
    incident_recent_hours: float = Field(24, gt=0)
    # Console (issue 15): sessions are signed with this secret (HMAC-SHA256); unset, a random one is made at
    # start, so sessions end when the service restarts. Signed-in sessions last console_session_hours.
    console_secret: SecretStr | None = Field(None, min_length=32)
    console_session_hours: float = Field(8, gt=0, le=24 * 30)
    # failed console sign-ins (unknown keys) allowed per client address within the window; then 429
    console_sign_in_max_failures: int = Field(5, ge=1, le=1000)
    console_sign_in_window_s: float = Field(300, gt=0, le=86400)
    console_page_size: int = Field(50, ge=5, le=500)  # inbox rows per page
    console_poll_seconds: float = Field(5, ge=1, le=300)  # how often the open inbox asks for new posts
    # Evaluation report folder (python -m eval posts --json ...) whose PNG plots the model page shows;
    # unset: PNGs in the model directory and its eval/ folder.
    console_reports_dir: Path | None = None
    console_timezone: str = "Europe/Amsterdam"  # times on the console's pages
    verify_model_files: bool = True
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = "info"
    # json: one JSON object per line on stderr (for log shippers); console: readable lines for local use.
    log_format: Literal["json", "console"] = "json"

    @field_validator("seed_kb", "console_reports_dir", "runtime_cache_dir", "index_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if v in ("", None) else v

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v

    @field_validator("console_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as Europe/Amsterdam)") from exc
        return v

    @field_validator("api_keys")
    @classmethod
    def _roles_known(cls, keys: dict[str, str]) -> dict[str, str]:
        for key, role in keys.items():
            if role not in ROLE_SCOPES:
                raise ValueError(f"API key ending …{key[-4:]} has unknown role {role!r}; "
                                 f"use one of {', '.join(ROLE_SCOPES)}")
            if len(key) < 16:
                raise ValueError(f"API key ending …{key[-4:]} is shorter than 16 characters")
        return keys

    @model_validator(mode="after")
    def _store_url(self) -> Settings:
        """The URL wins over the path; either way it is parsed here, so a bad one stops the start."""
        url = self.store_url if self.store_url not in (None, "") else f"sqlite:///{self.store_path}"
        try:
            parsed = parse_store_url(url)
        except ValueError as exc:
            raise ValueError(f"WEGWIJZER_STORE_URL: {exc}") from exc
        self.store_url = parsed.url
        if parsed.path is not None:
            self.store_path = parsed.path
        return self

    @property
    def store(self) -> StoreUrl:
        return parse_store_url(self.store_url or f"sqlite:///{self.store_path}")

    @model_validator(mode="after")
    def _auth_needs_keys(self) -> Settings:
        if self.auth_enabled and not self.api_keys:
            raise ValueError("auth is enabled but no API keys are configured: set WEGWIJZER_API_KEYS "
                             "(JSON {key: role}) or disable auth explicitly with WEGWIJZER_AUTH_ENABLED=false")
        if self.policy_file is not None and not self.policy_file.is_file():
            raise ValueError(f"policy file {self.policy_file} does not exist")
        return self

    def _beside_store(self, enabled: bool, chosen: Path | None, name: str) -> Path | None:
        """A folder the service writes: None when off; else the one set, or `name` beside the SQLite
        store (None on PostgreSQL, where nothing sits beside the store)."""
        if not enabled:
            return None
        if chosen is not None:
            return chosen
        return self.store.path.parent / name if self.store.path is not None else None

    @property
    def index_snapshot_dir(self) -> Path | None:
        """Where index snapshots live (None: snapshots off)."""
        return self._beside_store(self.index_snapshots, self.index_dir, "index")

    @property
    def runtime_cache_path(self) -> Path | None:
        """Where OpenVINO keeps compiled models (None: no cache)."""
        return self._beside_store(self.runtime_cache, self.runtime_cache_dir, "openvino-cache")

    @property
    def ann(self) -> AnnConfig:
        return AnnConfig(min_answers=self.ann_min_answers, expansion_search=self.ann_expansion_search,
                         connectivity=self.ann_connectivity, expansion_add=self.ann_expansion_add,
                         dtype=self.ann_dtype, rerank=self.ann_rerank,
                         lexical_fetch=self.ann_lexical_fetch)

    @property
    def policy_path(self) -> Path:
        """The policy file in force (see policy_file)."""
        if self.policy_file is not None:
            return self.policy_file
        tuned = self.model_dir / MODEL_POLICY
        return tuned if tuned.is_file() else DEFAULT_POLICY

    def scopes_for(self, key: str) -> set[str] | None:
        role = self.api_keys.get(key)
        return None if role is None else ROLE_SCOPES[role]


@lru_cache
def get_settings() -> Settings:
    return Settings()
