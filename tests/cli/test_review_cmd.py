"""`supportcue review stats` on a workspace's store: the JSON keys of the contract and the figures of
the fixture (16 of 20 random-sample reviews correct), the plain report, and a bad `--since`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.review.seed import stats_fixture
from typer.testing import CliRunner, Result

from supportcue.cli import app
from supportcue.data.store import open_store
from supportcue.settings import init_workspace


@pytest.fixture
def workspace(tmp_path: Path, database_url: str) -> tuple[Path, dict[str, str]]:
    init_workspace(tmp_path)
    store = open_store(database_url)
    stats_fixture(store)
    store.close()
    return tmp_path, {"SUPPORTCUE_DATABASE_URL": database_url}


def run(ws: tuple[Path, dict[str, str]], *args: str) -> Result:
    return CliRunner().invoke(app, ["--workspace", str(ws[0]), *args], env=ws[1])


def test_review_stats_json(workspace: tuple[Path, dict[str, str]]) -> None:
    result = run(workspace, "review", "stats", "--json")
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert {"n_reviewed", "online_precision", "ci_low", "ci_high", "alpha", "by_topic"} <= set(r)
    assert (r["n_reviewed"], r["n_random"], r["online_precision"]) == (31, 20, 0.8)
    assert r["ci_low"] == pytest.approx(0.58398, abs=1e-4) and r["ci_high"] == pytest.approx(
        0.91934, abs=1e-4
    )
    assert "biased and excluded" in r["note"]
    assert r["match_rate"] is None  # no sent reply in the store
    later = json.loads(run(workspace, "review", "stats", "--since", "2150-01-01", "--json").stdout)
    assert later["n_reviewed"] == 0 and later["online_precision"] is None


def test_review_stats_plain_and_bad_since(workspace: tuple[Path, dict[str, str]]) -> None:
    result = run(workspace, "review", "stats")
    assert result.exit_code == 0, result.output
    assert "judged correct by reviewers: 80.0% [95% CI 58.4% to 91.9%]" in result.output
    assert "matched what the agent sent (a lower bound)" in result.output
    bad = run(workspace, "review", "stats", "--since", "yesterday")
    assert bad.exit_code == 2
    assert "--since='yesterday' is not an ISO date" in bad.output
