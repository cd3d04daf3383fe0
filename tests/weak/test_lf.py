"""Labeling functions: the decorator, abstention, the factories and loading from workspace modules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from supportcue.embeddings import HashingEmbedder
from supportcue.errors import SettingsError
from supportcue.weak import (
    ABSTAIN,
    LabelingFunction,
    LFInput,
    answer_match_lf,
    keyword_lf,
    labeling_function,
    load_lfs_from_modules,
    regex_lf,
    similarity_lf,
    token_ratio,
)


@labeling_function(name="mentions_refund")
def refund(x: LFInput) -> str | None:
    return "refund" if "refund" in x.text.lower() else ABSTAIN


@labeling_function
def card(x: LFInput) -> str | None:
    return "card" if "card" in x.text else ABSTAIN


def test_decorator_makes_a_named_versioned_object() -> None:
    assert isinstance(refund, LabelingFunction)
    assert refund.name == "mentions_refund" and refund.task == "topic"
    assert card.name == "card"
    assert len(refund.version) == 12 and refund.version != card.version
    assert refund(LFInput("I want a REFUND")) == "refund"
    assert refund(LFInput("hello")) is ABSTAIN


def test_keyword_lf_matches_whole_words_only() -> None:
    lf = keyword_lf("kw", ["card", "top up"], "card", task="topic")
    assert lf(LFInput("My CARD broke")) == "card"
    assert lf(LFInput("how do I top up?")) == "card"
    assert lf(LFInput("cardboard box")) is None
    assert lf.version == keyword_lf("kw", ["top up", "card"], "card").version


def test_regex_lf_and_bad_pattern() -> None:
    lf = regex_lf("pin", r"\bpin\b|passcode", "pin")
    assert lf(LFInput("Forgot my PIN")) == "pin"
    assert lf(LFInput("spinning")) is None
    with pytest.raises(ValueError, match="bad pattern"):
        regex_lf("broken", "(", "x")


def test_similarity_lf_uses_vector_or_embeds_text() -> None:
    embedder = HashingEmbedder(dim=512)
    lf = similarity_lf("lost", ["I lost my card", "my card was stolen"], "lost_card", embedder, 0.5)
    assert lf(LFInput("I lost my card yesterday")) == "lost_card"
    assert lf(LFInput("what is the exchange rate for euros")) is None
    vector = embedder.embed(["my card was stolen"])[0]
    assert lf(LFInput("unrelated text", vector=vector)) == "lost_card"


def test_answer_match_lf_labels_by_the_matched_answer_topic() -> None:
    library = {
        "a1": ("refund", "Hi {customer_name}, your refund was issued and arrives in 5 days."),
        "a2": ("card", "Your new card ships within 3 business days."),
    }
    lf = answer_match_lf(library, threshold=0.7, similarity=token_ratio)
    assert lf(LFInput("msg", sent_reply="Hi Ann, your refund was issued and arrives in 5 days.")) == "refund"
    assert lf(LFInput("msg", sent_reply="Let me look into this for you.")) is None
    assert lf(LFInput("msg")) is None
    default = answer_match_lf(library)  # the product's match definition when available
    assert default(LFInput("msg", sent_reply="Your new card ships within 3 business days.")) == "card"


def test_load_lfs_from_modules(tmp_path: Path) -> None:
    (tmp_path / "lfs").mkdir()
    (tmp_path / "lfs" / "rules.py").write_text(
        "from supportcue.weak import keyword_lf, labeling_function\n"
        "fee = keyword_lf('fee', ['fee', 'charge'], 'fees')\n"
        "@labeling_function()\n"
        "def short(x):\n"
        "    return 'invalid' if len(x.text) < 3 else None\n",
        encoding="utf-8",
    )
    lfs = load_lfs_from_modules(["lfs"], base_dir=tmp_path)
    assert [lf.name for lf in lfs] == ["fee", "short"]
    (tmp_path / "lfs" / "more.py").write_text(
        "from supportcue.weak import keyword_lf\nfee = keyword_lf('fee', ['x'], 'y')\n", encoding="utf-8"
    )
    with pytest.raises(SettingsError, match="two LFs named 'fee'"):
        load_lfs_from_modules([tmp_path / "lfs"])
    with pytest.raises(SettingsError, match="not a Python file"):
        load_lfs_from_modules(["missing.py"], base_dir=tmp_path)
    (tmp_path / "bad.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"bad\.py"):
        load_lfs_from_modules([tmp_path / "bad.py"])


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("x = 1\ndef f(:\n    pass\n", r"bad\.py:2 failed: SyntaxError: invalid syntax"),
        ("x = 1\ndef f():\n    raise RuntimeError('boom')\nf()\n", r"bad\.py:3 failed: RuntimeError: boom"),
        ("import not_a_module_anywhere\n", r"bad\.py:1 failed: ModuleNotFoundError: No module named"),
    ],
)
def test_a_module_that_fails_to_import_is_named_with_its_line(tmp_path: Path, source: str, says: str) -> None:
    (tmp_path / "bad.py").write_text(source, encoding="utf-8")
    with pytest.raises(SettingsError, match=says):
        load_lfs_from_modules(["bad.py"], base_dir=tmp_path)


def test_vector_is_optional_and_float32() -> None:
    x = LFInput("text", vector=np.zeros(3, dtype=np.float32))
    assert x.sent_reply is None and x.vector is not None
