"""The facts of a text (amounts, numbers, dates, ids, URLs, e-mail addresses, placeholders, product
names and negations): one extractor, shared by the tone stage's fact guard and the LLM mode's
grounding check.

A temporary re-export while the extractor moves here from `stages/tone.py` (another branch moves it);
after that merge this module holds the code itself.
"""

from __future__ import annotations

from supportcue.stages.tone import facts, facts_kept

__all__ = ["facts", "facts_kept"]
