"""The Admin pages in real headless Chromium, under the service's CSP: an admin logs in, creates an
API key, sees it once (not on the page again), and revokes it, after which the key is refused."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from supportcue.data.store import Store
from supportcue.security.users import add_user
from tests.conftest import LiveServer
from tests.service.test_browser import PASSWORD, browser, fresh_page, log_in

__all__ = ["browser", "fresh_page"]  # the fixtures, shared with test_browser.py
pytestmark = pytest.mark.browser


def test_an_admin_creates_a_key_sees_it_once_and_revokes_it(
    server: LiveServer, store: Store, fresh_page: Page
) -> None:
    page = fresh_page
    add_user(store, "rita", "admin", PASSWORD)
    log_in(page, server.url, "rita")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page).to_have_url(f"{server.url}/admin/users")
    expect(page.locator("#user-rita")).to_contain_text("admin")

    page.get_by_role("navigation", name="Admin").get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("grafana")
    page.get_by_label("Role").select_option("metrics")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#created-key")).to_contain_text("shown only this once")
    key = page.locator("#new-key").inner_text()
    assert key.startswith("sc_")
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as grafana:
        assert grafana.get("/v1/metrics").status_code == 200

        page.get_by_role("navigation", name="Admin").get_by_role("link", name="API keys").click()
        expect(page.locator("#key-grafana")).to_contain_text("metrics")
        expect(page.locator("#new-key")).to_have_count(0)
        assert key not in page.content()

        page.once("dialog", lambda dialog: dialog.accept())  # "Revoke the key grafana? ..."
        page.locator("#key-grafana").get_by_role("button", name="Revoke").click()
        expect(page.locator("#admin-done")).to_contain_text("Key 'grafana' revoked")
        expect(page).to_have_url(f"{server.url}/admin/keys")  # the banner said once: `done` left the address
        expect(page.locator("#key-grafana")).to_have_count(0)
        assert grafana.get("/v1/metrics").status_code == 401
    assert store.callers.api_keys() == []
