"""Live figures of each library answer, and what in the library needs a reviewer's attention first.

Per answer, over the suggestions of the last `WINDOW_DAYS` days that served it: times suggested,
shown, inserted and dismissed (as the online metrics count them, `monitoring/facts.py`; adoption =
inserted / shown; dismissals per reason), the match rate of the replies sent after them
(`monitoring.match`, the same pairs and similarities as the online metrics, `metrics.score`, one per
suggestion: `metrics.best_per_suggestion`), and its trend (the match rate per week, oldest first).

The attention list, in this order:

- **overdue**: approved answers past their review due date (the response stage stops suggesting them
  after `[response] review_grace_days`);
- **match_drop**: answers whose match rate over the last `RECENT_DAYS` days is at least `DROP` below
  the rate before, each side over at least `MIN_PAIRS` sent replies (a screening rule, not a test;
  `supportcue drift` tests per-answer drops with a correction for many answers);
- **judged_wrong**: answers whose suggestions reviewers judged not correct in `/review` (or flagged
  outdated or with an incorrect fact), with their corrected replies: a review's word on an answer
  reached neither the library nor its owner;
- **no_approved_answer**: topics (active ones, and those of any answer) with no approved answer;
- **rewritten**: answers agents keep rewriting: at least `MIN_REWRITES` sent replies that do not
  match the suggestion, and at least `REWRITE_SHARE` of its sent replies. The common edit is
  proposed as the answer's next version, for an expert to review: the rewrites' consensus draft
  (`consensus.py`; greeting and sign-off lines removed, each case's customer name made
  `{customer_name}` again and its case's field values their placeholders, `{charge_id}`, first):
  the outline of the most typical rewrite, each sentence in the wording agents share most, and
  only sentences alike to ones of at least two rewrites, so a sentence one agent wrote about one
  customer's case (an order, an address) stays out. Rewrites that share no sentence are listed
  without a proposal. (It was the medoid rewrite, one agent's whole reply; the consensus draft
  scores better on Bitext, BENCHMARKS.md "Consensus drafts in the library".)

An answer a reviewer has acted on (saved its text, or marked it reviewed or approved it) is judged
on what agents and reviewers did since: match_drop, judged_wrong and rewritten count only the
suggestions made after that act,
so a handled item leaves the list and comes back only if agents keep rewriting the new text.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from supportcue.consensus import MIN_SUPPORT, consensus_draft
from supportcue.data.store import Store
from supportcue.data.tables import Answer, utcnow
from supportcue.monitoring.facts import query_facts
from supportcue.monitoring.match import _strip_greeting_and_signoff
from supportcue.monitoring.metrics import _rate, best_per_suggestion, score
from supportcue.vocab import AnswerStatus, ReviewFlag, Verdict

WINDOW_DAYS = 56
RECENT_DAYS = 14
DROP = 0.2
MIN_PAIRS = 5
MIN_REWRITES = 3
REWRITE_SHARE = 0.4
MAX_REWRITES_COMPARED = 30
PROPOSAL_SKELETONS = 2
PROPOSAL_ALTERNATIVES = 5
"""The consensus draft's search, narrowed for a page: on 30 Bitext replies of ~100 words it takes
~0.2 s an answer instead of ~1.4 s with `consensus.py`'s defaults, for most of the gain
(BENCHMARKS.md, "The library's rewritten proposal"); a proposal is computed once per set of rewrites
in a process."""
MIN_FIELD_CHARS = 3
"""A case field's value shorter than this is left in a rewrite (a "1" or "EU" is too likely to be a
word of the reply, not the field)."""
PLAIN_WORDS = {"yes", "no", "true", "false", "none", "null", "n/a", "unknown", "other"}
"""Field values that are words of any reply (a flag's "yes"): left in a rewrite."""


@dataclass
class AnswerFigures:
    suggested: int = 0
    shown: int = 0
    inserted: int = 0
    dismissed: int = 0
    dismiss_reasons: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    matches: int = 0
    recent: list[int] = field(default_factory=lambda: [0, 0])
    """[sent replies, matches] over the last RECENT_DAYS days."""
    weeks: dict[int, list[int]] = field(default_factory=dict)
    """Weeks before now -> [sent replies, matches]."""
    rewrites: list[str] = field(default_factory=list)
    rewrite_cases: list[str | None] = field(default_factory=list)
    """The case of each rewrite (its fields become placeholders again, `_fill_back`)."""
    pairs: list[tuple[datetime, bool]] = field(default_factory=list)
    """(when the suggestion was made, whether its sent reply matched) per sent reply."""
    rewrite_at: list[datetime] = field(default_factory=list)
    """When the suggestion of each rewrite was made."""

    def since(self, cutoff: datetime | None, now: datetime) -> AnswerFigures:
        """The sent replies and rewrites of the suggestions made after `cutoff` (a reviewer's last
        save or review of the answer): what agents did with the text as it is now (all: None)."""
        if cutoff is None:
            return self
        kept = [(when, matched) for when, matched in self.pairs if when > cutoff]
        recent = [matched for when, matched in kept if now - when <= timedelta(days=RECENT_DAYS)]
        after = [i for i, when in enumerate(self.rewrite_at) if when > cutoff]
        return AnswerFigures(
            sent=len(kept),
            matches=sum(matched for _, matched in kept),
            recent=[len(recent), sum(recent)],
            rewrites=[self.rewrites[i] for i in after],
            rewrite_cases=[self.rewrite_cases[i] for i in after],
            pairs=kept,
            rewrite_at=[self.rewrite_at[i] for i in after],
        )

    @property
    def adoption(self) -> float | None:
        return _rate(self.inserted, self.shown)

    @property
    def match_rate(self) -> float | None:
        return _rate(self.matches, self.sent)

    @property
    def recent_rate(self) -> float | None:
        return _rate(self.recent[1], self.recent[0])

    @property
    def earlier_rate(self) -> float | None:
        return _rate(self.matches - self.recent[1], self.sent - self.recent[0])

    @property
    def trend(self) -> list[float | None]:
        """The match rate per week, oldest first (None: no sent reply that week)."""
        n = WINDOW_DAYS // 7
        return [_rate(*reversed(self.weeks.get(w, [0, 0]))) for w in range(n - 1, -1, -1)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "suggested": self.suggested,
            "shown": self.shown,
            "inserted": self.inserted,
            "adoption": self.adoption,
            "dismissed": self.dismissed,
            "dismiss_reasons": dict(self.dismiss_reasons.most_common()),
            "sent_pairs": self.sent,
            "match_rate": self.match_rate,
            "recent_match_rate": self.recent_rate,
            "earlier_match_rate": self.earlier_rate,
            "trend": self.trend,
        }


def answer_figures(store: Store, threshold: float, now: datetime | None = None) -> dict[str, AnswerFigures]:
    """Answer id -> its figures over the last WINDOW_DAYS days before `now`."""
    now = now or utcnow()
    since = now - timedelta(days=WINDOW_DAYS)
    figures: dict[str, AnswerFigures] = defaultdict(AnswerFigures)
    served: dict[str, tuple[str, datetime]] = {}
    for sid, answer_id, created, shown, inserted, dismissed, reason in store.reporting.answer_actions(
        since, now
    ):
        f = figures[answer_id]
        served[sid] = (answer_id, created)
        f.suggested += 1
        f.shown += int(shown)
        f.inserted += int(inserted)
        f.dismissed += int(dismissed)
        if dismissed:
            f.dismiss_reasons[reason or "other"] += 1
    for pair, sim, _shadow in best_per_suggestion(score(query_facts(store.reporting, since, now))):
        if pair.cache_key is None or pair.cache_key[1] not in served or sim is None:
            continue
        answer_id, created = served[pair.cache_key[1]]
        f = figures[answer_id]
        matched = int(sim >= threshold)
        f.sent += 1
        f.matches += matched
        f.pairs.append((created, bool(matched)))
        week = f.weeks.setdefault(max(0, (now - created).days) // 7, [0, 0])
        week[0] += 1
        week[1] += matched
        if now - created <= timedelta(days=RECENT_DAYS):
            f.recent[0] += 1
            f.recent[1] += matched
        if not matched and pair.sent:
            f.rewrites.append(_as_template(pair.sent, pair.customer_name))
            f.rewrite_cases.append(pair.case_id)
            f.rewrite_at.append(created)
    _fill_back(store, list(figures.values()))
    return dict(figures)


def _fill_back(store: Store, figures: Sequence[AnswerFigures]) -> None:
    """The values of each rewrite's case fields made their placeholders again (`ch_3Q...` ->
    `{charge_id}`), as the customer's name is: a proposal kept one customer's charge id, amount or
    order number, and "Edit with it" put it in the answer every customer would get. Only the rewrites
    `common_edit` compares are read."""
    compared = {
        id(f): [i for i, t in enumerate(f.rewrites) if t][:MAX_REWRITES_COMPARED]
        for f in figures
        if len(f.rewrites) >= MIN_REWRITES
    }
    wanted = [f for f in figures if id(f) in compared]
    ids = {c for f in wanted for i in compared[id(f)] if (c := f.rewrite_cases[i])}
    fields = store.cases.fields_of(sorted(ids)) if ids else {}
    for f in wanted:
        for i in compared[id(f)]:
            values = fields.get(f.rewrite_cases[i] or "", {})
            # longest value first, so "$326.72" goes before a "326" that is part of it
            for name, value in sorted(values.items(), key=lambda kv: -len(str(kv[1]))):
                text = str(value).strip() if isinstance(value, str | int | float) else ""
                if (
                    len(text) >= MIN_FIELD_CHARS
                    and text.lower() not in PLAIN_WORDS
                    and re.fullmatch(r"\w+", name)
                ):
                    f.rewrites[i] = re.sub(rf"(?<!\w){re.escape(text)}(?!\w)", f"{{{name}}}", f.rewrites[i])


def _as_template(text: str, customer_name: str | None) -> str:
    """A sent reply as an answer body: greeting and sign-off lines removed, the customer's name made
    the `{customer_name}` placeholder again."""
    body = _strip_greeting_and_signoff(text).strip()
    for name in {customer_name or "", (customer_name or "").split(" ")[0]} - {""}:
        body = re.sub(rf"\b{re.escape(name)}\b", "{customer_name}", body)
    return body


def common_edit(rewrites: list[str]) -> str | None:
    """The rewrites' consensus draft (`consensus.consensus_draft`): the outline of the most typical
    rewrite, each sentence or list item in the wording agents share most, every one alike to
    sentences of at least two rewrites; None when no sentence is (or without rewrites). The
    rewrites come with the customer's name already `{customer_name}` (`_as_template`)."""
    texts = tuple(t for t in rewrites if t and t.strip())[:MAX_REWRITES_COMPARED]
    return _consensus(texts) if len(texts) >= 2 else None


@functools.lru_cache(maxsize=256)
def _consensus(texts: tuple[str, ...]) -> str | None:
    # 1.5 / n: a sentence one agent wrote (often about that customer's own case) never enters
    support = max(MIN_SUPPORT, 1.5 / len(texts))
    draft = consensus_draft(
        texts, min_support=support, skeletons=PROPOSAL_SKELETONS, alternatives=PROPOSAL_ALTERNATIVES
    )
    return draft or None


@dataclass(frozen=True)
class Finding:
    """A reviewer's judgement of a suggestion of an answer; `wrong` when it was not `correct`, or was
    flagged outdated or with an incorrect fact."""

    made_at: datetime
    """When the suggestion was made (it served the answer's text of then)."""
    verdict: str
    flags: tuple[str, ...]
    corrected: str | None

    @property
    def wrong(self) -> bool:
        return self.verdict != Verdict.CORRECT or bool(WRONG_FLAGS & set(self.flags))


WRONG_FLAGS = {ReviewFlag.OUTDATED, ReviewFlag.INCORRECT_FACT}
CORRECTIONS = 3
"""Reviewers' corrected replies shown with a `judged_wrong` item, the newest first."""


def reviewer_findings(store: Store, now: datetime | None = None) -> dict[str, list[Finding]]:
    """Answer id -> the reviews of its suggestions of the last WINDOW_DAYS days, the newest review
    first (`/review`: the verdict, the flags, the corrected reply when they wrote one)."""
    now = now or utcnow()
    out: dict[str, list[Finding]] = defaultdict(list)
    for answer_id, made_at, verdict, flags, corrected in store.reviews.of_answers(
        now - timedelta(days=WINDOW_DAYS)
    ):
        flagged = tuple(str(f) for f in flags or [])
        out[answer_id].append(Finding(made_at, verdict, flagged, corrected or None))
    return dict(out)


def attention(
    answers: list[Answer],
    topics: list[str],
    figures: dict[str, AnswerFigures],
    now: datetime | None = None,
    handled: Mapping[str, datetime] | None = None,
    findings: Mapping[str, list[Finding]] | None = None,
) -> list[dict[str, Any]]:
    """What a reviewer should look at first (see the module docstring): dicts of kind, answer_id
    (None for a topic), topic, owner, what (a sentence) and, for `rewritten`, the proposed body.

    `handled` (`store.library.last_edited()`) says when a person last saved each answer's text: the
    match drop and the rewrites count only the suggestions made after that, or after the answer was
    last marked reviewed (approved), whichever is later, so an item the reviewer acted on leaves the
    list and comes back only if agents go on rewriting the answer as it is now."""
    now = now or utcnow()
    handled = handled or {}
    items: list[dict[str, Any]] = []

    def cutoff(a: Answer) -> datetime | None:
        return max((t for t in (a.reviewed_at, handled.get(a.id)) if t is not None), default=None)

    def current(a: Answer) -> AnswerFigures | None:
        f = figures.get(a.id)
        return f.since(cutoff(a), now) if f is not None else f

    def add(kind: str, a: Answer | None, topic: str, what: str, **more: Any) -> None:
        answer_id, owner = (a.id, a.owner) if a is not None else (None, None)
        items.append(
            {"kind": kind, "answer_id": answer_id, "topic": topic, "owner": owner, "what": what, **more}
        )

    for a in answers:
        if a.status == AnswerStatus.APPROVED and a.review_due_at is not None and a.review_due_at < now:
            add("overdue", a, a.topic, f"review was due {a.review_due_at:%Y-%m-%d}")
    for a in answers:
        f = current(a)
        if f is None or f.recent[0] < MIN_PAIRS or f.sent - f.recent[0] < MIN_PAIRS:
            continue
        before, recent = f.earlier_rate or 0.0, f.recent_rate or 0.0
        if before - recent >= DROP:
            add(
                "match_drop",
                a,
                a.topic,
                f"match rate {before:.0%} before, {recent:.0%} in the last {RECENT_DAYS} days",
            )
    for a in answers:
        since = cutoff(a)
        found = [f for f in (findings or {}).get(a.id, []) if since is None or f.made_at > since]
        wrong = [f for f in found if f.wrong]
        if not wrong or a.status == AnswerStatus.RETIRED:
            continue
        flags = Counter(flag for f in wrong for flag in f.flags if flag in WRONG_FLAGS)
        named = ", ".join(
            f"{flag.replace('_', ' ')} {n}"
            for flag, n in sorted(flags.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        add(
            "judged_wrong",
            a,
            a.topic,
            f"reviewers judged {len(wrong)} of {len(found)} reviewed suggestion"
            + ("s" if len(found) != 1 else "")
            + " not correct"
            + (f" ({named})" if named else ""),
            corrections=[f.corrected for f in wrong if f.corrected][:CORRECTIONS],
        )
    approved = {a.topic for a in answers if a.status == AnswerStatus.APPROVED}
    for topic in sorted(set(topics) | {a.topic for a in answers}):
        if topic not in approved:
            add("no_approved_answer", None, topic, "no approved answer: nothing is suggested for this topic")
    for a in answers:
        f = current(a)
        if f is None or a.status == AnswerStatus.RETIRED:
            continue
        if len(f.rewrites) >= MIN_REWRITES and len(f.rewrites) >= REWRITE_SHARE * f.sent:
            proposal = common_edit(f.rewrites)
            what = f"agents rewrote {len(f.rewrites)} of {f.sent} replies sent after it"
            if proposal is None:
                add("rewritten", a, a.topic, what + " (no sentence that two of them share: no proposal)")
            elif proposal != a.body:
                add("rewritten", a, a.topic, what, proposal=proposal)
    return items
