"""Prompt templates in the workspace: defaults written by `init`, edits read at load, clear errors,
and a digest that versions the pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportcue.errors import SettingsError
from supportcue.llm.prompts import DEFAULT_RESPONSE, LLMPolicy, load_template
from supportcue.settings import init_workspace, load_settings
from supportcue.stages.draft import DraftStage


def test_init_writes_the_defaults_and_keeps_a_teams_edits(tmp_path: Path) -> None:
    init_workspace(tmp_path)
    response = tmp_path / "prompts" / "response.txt"
    assert response.read_text() == DEFAULT_RESPONSE and (tmp_path / "prompts" / "tone.txt").exists()
    response.write_text(DEFAULT_RESPONSE.replace("You draft replies", "You write answers"))
    init_workspace(tmp_path)
    assert "You write answers" in response.read_text()


def test_an_edited_template_and_the_guidance_reach_the_prompt_and_change_the_version(tmp_path: Path) -> None:
    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={})
    before = DraftStage(**DraftStage.params_from(settings)).policy_version()
    (tmp_path / "prompts" / "response.txt").write_text(
        "[system]\nHouse rules:\n$guard_rails\nMax $max_chars chars, cost $$0.\n"
        "[user]\n$sources\n---\n$message\n"
    )
    environ = {"SUPPORTCUE_LLM__MAX_CHARS": "300"}
    policy = LLMPolicy.from_settings(load_settings(tmp_path, environ=environ))
    system, user = policy.response.render(
        sources="[a] x", message="hi", thread="", topic="t", **policy.guidance()
    )
    assert system.content.startswith("House rules:\n- Use only facts from the sources")
    assert system.content.endswith("Max 300 chars, cost $0.") and user.content == "[a] x\n---\nhi"
    after = DraftStage(mode="llm", llm_policy=policy).policy_version()
    assert before.startswith("llm-") and after.startswith("llm-") and after != before


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "[system]\nHi $nmae\n[user]\n$message\n",
            "response.txt:2: unknown placeholder $nmae; allowed: $guard_rails",
        ),
        ("[system]\nCosts $5\n[user]\n$message\n", "response.txt:2: a lone '$'"),
        ("just text, no sections\n", "a [system] line"),
        ("[user]\n$message\n", "a [system] line"),
    ],
)
def test_a_bad_template_names_the_file_and_line(tmp_path: Path, text: str, error: str) -> None:
    (tmp_path / "response.txt").write_text(text)
    with pytest.raises(SettingsError, match=error.replace("$", r"\$").replace("[", r"\[")):
        load_template(tmp_path, "response")


def test_a_missing_file_is_the_default() -> None:
    assert load_template(Path("/nonexistent"), "tone") == LLMPolicy().tone
