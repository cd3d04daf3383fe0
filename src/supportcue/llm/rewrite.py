"""The LLM tone rewrite (`[tone] mode = "llm"`): the reply in the team's voice, facts untouched.

`rewrite(...)` masks the reply, asks the model with the workspace's `tone` template and guidance,
restores the reply, and keeps it only when it passes the tone stage's fact guard both ways
(`textfacts.facts_kept`: every fact of the original is still there, as many negations, and no fact
is added; durations and prices keep their units, and no name is new: `same_facts`), and is within
the length it was given (`[llm] max_chars`, or the text's own when that is longer). Otherwise it
returns why, and the tone stage uses its rules version instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from supportcue.llm.ask import ask
from supportcue.llm.client import ChatClient
from supportcue.llm.grounding import WORD, names, quantities
from supportcue.llm.privacy import Masker
from supportcue.llm.prompts import LLMPolicy
from supportcue.stages.style import sentences
from supportcue.textfacts import facts, facts_kept


@dataclass(frozen=True)
class Rewrite:
    text: str | None
    usage: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


def same_facts(before: str, after: str, product_names: tuple[str, ...] = ()) -> bool:
    """The fact guard, both ways: `after` keeps every fact and negation of `before` and adds none;
    its durations and prices per period keep their units ("2 business days" is not "2 weeks", "$49 a
    month" not "$49 a year"), and every name inside its sentences (a plan, a product, a setting: "the
    Starter plan") is a word of `before`, as the grounding check asks of a draft."""
    added = {t for t, n in facts(after, product_names).items() if n > 0} - set(facts(before, product_names))
    if not facts_kept(before, after, product_names) or added - {"<neg>"}:
        return False
    if set(quantities(after)) != set(quantities(before)):
        return False
    words = set(WORD.findall(before))
    return all(name in words for sentence in sentences(after) for name in names(sentence))


def rewrite(
    client: ChatClient,
    policy: LLMPolicy,
    text: str,
    customer_name: str | None = None,
    fields: Mapping[str, str] | None = None,
    deadline: float | None = None,
    product_names: tuple[str, ...] = (),
    seen: Sequence[str] = (),
) -> Rewrite:
    """The text rewritten by the model in the workspace's voice, or why not. `seen` are the
    customer's texts (the message, the conversation): a name the customer gives there is masked in
    the text too, as the draft stage masks it."""
    masker = Masker(customer_name, (fields or {}).values(), enabled=policy.privacy, seen=seen)
    messages = policy.tone.render(text=masker.mask(text), **policy.guidance())
    reply = ask(client, messages, masker, deadline)
    if reply.text is None:
        return Rewrite(None, reply.usage, reply.problem)
    if len(reply.text) > max(policy.max_chars, len(text)):  # the prompt's limit (or the text's length)
        return Rewrite(None, reply.usage, f"the rewrite is over [llm] max_chars ({policy.max_chars})")
    if not same_facts(text, reply.text, product_names):
        return Rewrite(None, reply.usage, "the rewrite changed a fact")
    return Rewrite(reply.text, reply.usage)
