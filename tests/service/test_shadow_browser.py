"""The agent console in real Chromium with a stage in shadow: the card and its "Why this?" show what
the live stages decided, nothing of the stage on trial."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from supportcue.data.store import Store
from supportcue.pipeline import Pipeline
from supportcue.service.runtime import PipelineLoader
from supportcue.settings import PipelineSettings, Settings
from tests.conftest import LiveServer
from tests.service.conftest import fake_pipeline
from tests.service.test_browser import _seeded, browser, fresh_page, page

__all__ = ["_seeded", "browser", "fresh_page", "page"]
pytestmark = pytest.mark.browser


@pytest.fixture
def app(make_app: Callable[[PipelineLoader], FastAPI]) -> FastAPI:
    def tone_on_trial(store: Store, settings: Settings) -> Pipeline:
        pipeline = fake_pipeline(store, settings)
        pipeline.settings = PipelineSettings(tone="shadow")
        return pipeline

    return make_app(tone_on_trial)


def test_the_console_shows_the_untoned_answer_and_no_shadow_stage(server: LiveServer, page: Page) -> None:
    page.goto(f"{server.url}/cases/c1")
    suggestion = page.locator("#suggestion.live")
    expect(suggestion.locator(".text")).to_have_text("You can pause payouts in Settings.")
    suggestion.get_by_text("Why this?").click()
    stages = suggestion.locator("dl dd").last
    expect(stages).to_have_text("validation live valid → topic live payouts → response live a1")
    expect(suggestion).not_to_contain_text("Hi Ana")
    expect(suggestion).not_to_contain_text("shadow")
