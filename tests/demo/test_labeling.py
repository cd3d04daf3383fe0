"""The demo workspace's labeling functions, as the file it writes reads them."""

from __future__ import annotations

from typing import Any

import pytest

from supportcue.demo.labeling import workspace_module
from supportcue.weak.lf import LFInput


@pytest.fixture(scope="module")
def lfs() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(workspace_module(), "labeling_functions.py", "exec"), namespace)
    return namespace


@pytest.mark.parametrize(
    ("name", "text", "vote"),
    [
        ("greeting_only", "Hi there!", "invalid"),
        ("greeting_only", "hello, where is my payout?", None),
        ("thanks_only", "Thanks a lot, that fixed it", "invalid"),
        ("thanks_only", "thanks, but why was I charged twice?", None),
        ("asks_something", "How do I pause payouts?", "valid"),
        ("asks_something", "ok", None),
    ],
)
def test_the_written_validity_functions_vote_as_their_patterns_say(
    lfs: dict[str, Any], name: str, text: str, vote: str | None
) -> None:
    """The file wrote each pattern as `r'...'` around its repr, so every backslash was doubled:
    `\\s` and `\\b` asked for a literal backslash. greeting_only and thanks_only never voted (coverage
    0 on the demo's 3,200 cases), and asks_something, whose `\\?` then matched the empty string,
    voted `valid` on every case (coverage 1.0, 251 of its 1,280 people-labeled cases wrong)."""
    assert lfs[name](LFInput(text=text)) == vote


@pytest.mark.parametrize("pattern", [r"\bhi\b", r"it's\s+me", "ends with \\", "two\nlines"])
def test_a_pattern_is_written_as_a_literal_that_reads_back_as_itself(pattern: str) -> None:
    from supportcue.demo.labeling import _literal

    assert eval(_literal(pattern)) == pattern
