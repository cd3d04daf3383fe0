"""schemathesis against the API's own OpenAPI schema, over real HTTP, on both databases: generated
requests (valid and invalid) get no 5xx, and every answer matches the documented schema (the 422 body
too). Bounded and derandomized, so a CI run is reproducible and takes seconds per operation."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import positive_data_acceptance

from supportcue.service import create_app
from supportcue.settings import load_settings
from tests.conftest import LiveServer


def _openapi() -> dict[str, Any]:
    """The app's OpenAPI schema, read once at collection (it depends on no data)."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "supportcue.toml").write_text("")
        app = create_app(load_settings(Path(folder), environ={}), load_models=False)
        app.state.runtime.store.close()
        return app.openapi()


# (schemathesis' lazy `from_fixture` loader fails on pytest 9, so the schema is read at collection and
# each test calls the live `server` of its database)
schema = schemathesis.openapi.from_dict(_openapi())
# the requests carry the test's own key (`api_headers`), not a generated Authorization header (which a
# "negative" case would leave out, then the key sent anyway made it "accepted"); schemathesis's
# ignored_auth check still sends each operation without a key and expects its documented 401
schema.config.generation.update(with_security_parameters=False)


@pytest.fixture
def api_headers(admin_key: dict[str, str]) -> dict[str, str]:
    """What authenticates the fuzzer's requests: an admin key (every operation is open to it)."""
    return admin_key


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_and_every_answer_as_documented(
    case: Case, server: LiveServer, api_headers: dict[str, str]
) -> None:
    # Every check but "schema-valid data is accepted": some rules are not in the schema (a `sent` event
    # needs `text`, `since` must be an ISO time before `until`), and their 422s are the intended answer
    case.call_and_validate(
        base_url=server.url, headers=api_headers, excluded_checks=[positive_data_acceptance]
    )


def test_the_documented_422_is_what_the_app_answers(server: LiveServer, api_headers: dict[str, str]) -> None:
    import httpx

    spec: dict[str, Any] = httpx.get(f"{server.url}/openapi.json", headers=api_headers).json()
    documented = spec["paths"]["/v1/events"]["post"]["responses"]["422"]["content"]["application/json"]
    assert documented["schema"] == {"$ref": "#/components/schemas/Problem"}
    problem = spec["components"]["schemas"]["Problem"]
    assert problem["required"] == ["detail"] and set(problem["properties"]) == {"detail", "errors"}
