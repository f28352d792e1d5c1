"""Property-based fuzzing of every endpoint from the OpenAPI spec (schemathesis):
nothing a client sends yields a 5xx."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from service.app import create_app
from service.settings import Settings
from tests.conftest import MINI

ADMIN_KEY = "admin-key-0000000000001"
schemathesis.serializer.alias("application/x-ndjson", "text/plain")  # bulk import takes JSON Lines
EXAMPLES_PER_OPERATION = 30


def test_no_server_errors_on_any_operation(tiny_model: Path, tmp_path: Path) -> None:
    s = Settings(model_dir=tiny_model, store_path=tmp_path / "s.sqlite3", api_keys={ADMIN_KEY: "admin"},
                 seed_kb=MINI / "kb.jsonl", max_batch=8)
    app = create_app(s)
    with TestClient(app):  # lifespan: model, store and index loaded
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        for op in operations:
            @given(case=op.as_strategy())
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            def fuzz(case) -> None:  # noqa: ANN001
                case.call_and_validate(headers={"X-API-Key": ADMIN_KEY}, checks=[not_a_server_error])

            fuzz()
