"""Generate the demo workspace deterministically from a seed: library, articles, cases, expert labels.

One `random.Random(seed)` drives everything, consumed in a fixed order, so the same seed always gives
identical data. The story told by the data: 8 weeks of a payments support desk from Monday
2026-09-07; instant payouts launch at the start of week 5 (a new topic), and in week 6 payouts
become next-day, which makes the payout-timing answer outdated (agents stop sending it).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from supportcue.demo import catalog as cat
from supportcue.demo import catalog_people as people
from supportcue.demo import catalog_replies as rep
from supportcue.demo.catalog import AnswerSpec, body
from supportcue.demo.catalog_answers import (
    APPROVED,
    DRAFT_OUTDATED_REPLACEMENT,
    OUTDATED_INTENT,
    OUTDATED_TOPIC,
    RETIRED,
)
from supportcue.demo.catalog_articles import ARTICLES
from supportcue.demo.catalog_messages import MESSAGES
from supportcue.demo.model import Agent, Answer, AnswerStatus, Article, DemoCase, DemoData, DemoLabel, Topic

START = datetime(2026, 9, 7, tzinfo=UTC)
WEEKS = 8
LAUNCH_WEEK = 5
POLICY_WEEK = 6
INVALID_SHARE = 0.18
EXPERT_SHARE = 0.40
DOUBLE_SHARE = 0.15  # of the expert-labeled cases
MIN_DOUBLE = 150

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_ID_PREFIX = {
    "payout_id": "po_",
    "charge_id": "ch_",
    "dispute_id": "dp_",
    "invoice_id": "in_",
    "subscription_id": "sub_",
    "account_id": "acct_",
    "event_id": "evt_",
}
_HOUR_WEIGHTS = (
    0.15,
    0.12,
    0.1,
    0.1,
    0.12,
    0.2,
    0.35,
    0.6,
    1.0,
    1.6,
    1.7,
    1.6,
    1.3,
    1.5,
    1.6,
    1.5,
    1.4,
    1.0,
    0.7,
    0.5,
    0.45,
    0.4,
    0.3,
    0.2,
)
_DAY_WEIGHTS = (1.0, 1.0, 0.97, 0.95, 0.9, 0.4, 0.3)  # Monday .. Sunday
_QUESTION_WORDS = frozenset(
    {
        "how",
        "what",
        "what's",
        "why",
        "when",
        "where",
        "can",
        "is",
        "do",
        "does",
        "which",
        "will",
        "should",
        "any",
    }
)
_NOISE = dict(zip(people.ANNOTATORS, (0.03, 0.04, 0.05, 0.05, 0.06, 0.07), strict=True))
_MEDIAN_SECONDS = {
    "library": 190.0,
    "other": 300.0,
    "free": 480.0,
    "policy": 420.0,
    "invalid": 55.0,
    "none": 20.0,
}


def placeholders(text: str) -> set[str]:
    """Names of the `{placeholders}` in `text`."""
    return set(_PLACEHOLDER.findall(text))


def fill_placeholders(text: str, values: Mapping[str, str]) -> str:
    """Replace each `{name}` in `text` by `values[name]`; a missing name raises KeyError."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def case_values(case: DemoCase) -> dict[str, str]:
    """What an agent fills an answer's placeholders with for `case` (the customer's first name)."""
    return {**case.fields, "customer_name": case.customer_name.split()[0], "case_id": case.id}


def generate(seed: int = 7, n_cases: int = 3200) -> DemoData:
    """The demo workspace's data; same `seed` and `n_cases` give identical data."""
    if n_cases < 1:
        raise ValueError(f"n_cases must be at least 1, got {n_cases}")
    rng = random.Random(seed)
    end = START + timedelta(weeks=WEEKS)
    launch = START + timedelta(weeks=LAUNCH_WEEK - 1)
    policy = START + timedelta(weeks=POLICY_WEEK - 1)
    topics = tuple(
        Topic(t.key, t.name, t.description, launch if t.key == cat.NEW_TOPIC else None) for t in cat.TOPICS
    )
    answers, by_intent = _answers(rng, end, launch, policy)
    agents = tuple(Agent(*a) for a in people.AGENTS)
    world = _World(rng, by_intent, agents, launch, policy, by_intent[OUTDATED_TOPIC][OUTDATED_INTENT].id)
    cases = tuple(world.case(i, ts) for i, ts in enumerate(_timestamps(rng, n_cases, launch)))
    return DemoData(
        seed=seed,
        start=START,
        end=end,
        topics=topics,
        answers=answers,
        articles=_articles(),
        cases=cases,
        labels=_labels(rng, cases, end, launch),
        new_topic_key=cat.NEW_TOPIC,
        outdated_answer_id=world.outdated_id,
        policy_change_at=policy,
        agents=agents,
    )


REVIEW_CYCLE_DAYS = 365
"""Answers in good standing are due for review a year after their last review, so the demo's library
stays current for a while after the demo's dates; the overdue ones were last reviewed long before."""


def _answers(
    rng: random.Random, end: datetime, launch: datetime, policy: datetime
) -> tuple[tuple[Answer, ...], dict[str, list[Answer]]]:
    areas = {t.key: t.area for t in cat.TOPICS}
    approved_specs = [(topic, i, spec) for topic, specs in APPROVED.items() for i, spec in enumerate(specs)]
    # the case study's own example ("How can I pause payouts?") keeps answers in good standing
    eligible = [n for n, (topic, _, _) in enumerate(approved_specs) if topic != "pausing_payouts"]
    overdue = set(rng.sample(eligible, 6))
    out: list[Answer] = []
    by_intent: dict[str, list[Answer]] = {}
    for n, (topic, i, spec) in enumerate(approved_specs):
        reviewed = START - timedelta(days=rng.randint(5, 110), hours=rng.randint(8, 17))
        due = reviewed + timedelta(days=REVIEW_CYCLE_DAYS)
        if n in overdue:
            reviewed = START - timedelta(days=rng.randint(185, 230), hours=rng.randint(8, 17))
            due = reviewed + timedelta(days=180)
        version = rng.choice((1, 1, 1, 2, 2, 3))
        if topic == cat.NEW_TOPIC:
            reviewed, due, version = launch - timedelta(days=3), launch + timedelta(days=REVIEW_CYCLE_DAYS), 1
        if (topic, i) == (OUTDATED_TOPIC, OUTDATED_INTENT):
            reviewed, due, version = START - timedelta(days=120), policy + timedelta(days=7), 1
        answer = _answer(rng, topic, i + 1, spec, "approved", areas[topic], reviewed, due, version)
        out.append(answer)
        by_intent.setdefault(topic, []).append(answer)
    for topic, spec in RETIRED:
        reviewed = START - timedelta(days=rng.randint(200, 400))
        number = len(APPROVED[topic]) + 1 + sum(1 for a in out if a.topic == topic and a.status != "approved")
        out.append(
            _answer(
                rng, topic, number, spec, "retired", areas[topic], reviewed, reviewed + timedelta(days=180), 1
            )
        )
    written = policy + timedelta(days=3, hours=10)
    out.append(
        _answer(
            rng,
            OUTDATED_TOPIC,
            len(APPROVED[OUTDATED_TOPIC]) + 1,
            DRAFT_OUTDATED_REPLACEMENT,
            "draft",
            areas[OUTDATED_TOPIC],
            written,
            min(written + timedelta(days=14), end),
            2,
        )
    )
    return tuple(out), by_intent


def _answer(
    rng: random.Random,
    topic: str,
    number: int,
    spec: AnswerSpec,
    status: AnswerStatus,
    area: str,
    reviewed: datetime,
    due: datetime,
    version: int,
) -> Answer:
    return Answer(
        id=f"ans-{topic}-{number}",
        topic=topic,
        title=spec.title,
        body=body(spec),
        status=status,
        owner=rng.choice(people.OWNERS[area]),
        reviewed_at=reviewed,
        review_due_at=due,
        version=version,
    )


def _articles() -> tuple[Article, ...]:
    return tuple(
        Article(f"kb-{topic}-{i + 1}", topic, title, "\n\n".join(paragraphs))
        for topic, items in ARTICLES.items()
        for i, (title, paragraphs) in enumerate(items)
    )


def _timestamps(rng: random.Random, n: int, launch: datetime) -> list[datetime]:
    days = [START + timedelta(days=d) for d in range(WEEKS * 7)]
    # Volume grows a little week on week, and the launch brings extra questions.
    weights = [
        _DAY_WEIGHTS[d.weekday()] * (1 + 0.025 * (i // 7)) * (1.08 if d >= launch else 1.0)
        for i, d in enumerate(days)
    ]
    stamps = [
        day + timedelta(hours=rng.choices(range(24), _HOUR_WEIGHTS)[0], seconds=rng.randrange(3600))
        for day in rng.choices(days, weights, k=n)
    ]
    return sorted(stamps)


class _World:
    """The generator's state while it writes cases: the library by intent, agents, the timeline."""

    def __init__(
        self,
        rng: random.Random,
        by_intent: dict[str, list[Answer]],
        agents: Sequence[Agent],
        launch: datetime,
        policy: datetime,
        outdated_id: str,
    ) -> None:
        self.rng, self.by_intent, self.agents = rng, by_intent, agents
        self.launch, self.policy, self.outdated_id = launch, policy, outdated_id
        self.speed = {a.id: rng.uniform(0.8, 1.25) for a in agents}

    def case(self, index: int, created: datetime) -> DemoCase:
        rng = self.rng
        agent = rng.choice(self.agents)
        first, last = rng.choice(people.FIRST_NAMES), rng.choice(people.LAST_NAMES)
        business = rng.choice(people.BUSINESSES)
        office_hours = created.weekday() < 5 and 8 <= created.hour < 18
        channel = "chat" if rng.random() < (0.6 if office_hours else 0.3) else "email"
        case_id = f"case-{index + 1:06d}"
        who = {
            "first": first,
            "full": f"{first} {last}",
            "business": business,
            "agent": agent.name.split()[0],
        }
        week = (created - START).days // 7 + 1
        if rng.random() < INVALID_SHARE:
            kind = _pick(rng, rep.INVALID_WEIGHTS)
            message = _customer_text(
                rng, rng.choice(rep.INVALID_MESSAGES[kind]), who, channel, "neutral", framing=False
            )
            template = rng.choice(rep.INVALID_REPLIES[kind])
            reply = None if template is None else fill_placeholders(template, who)
            mode = "invalid" if reply else "none"
            return DemoCase(
                case_id,
                created,
                channel,
                who["full"],
                message,
                {},
                False,
                kind,
                None,
                reply,
                None,
                agent.id,
                self._handle(mode, channel, agent),
                week,
            )
        topic = self._topic(created)
        intent = rng.randrange(len(MESSAGES[topic]))
        fields = _fields(rng, topic, created)
        tone = _pick(rng, rep.TONE_WEIGHTS)
        message = _customer_text(
            rng, rng.choice(MESSAGES[topic][intent]), {**who, **fields}, channel, tone, framing=True
        )
        values = {**fields, "customer_name": first, "case_id": case_id}
        reply, answer_id, mode = self._reply(topic, intent, values, created, who)
        return DemoCase(
            case_id,
            created,
            channel,
            who["full"],
            message,
            fields,
            True,
            None,
            topic,
            reply,
            answer_id,
            agent.id,
            self._handle(mode, channel, agent),
            week,
        )

    def _topic(self, created: datetime) -> str:
        weights = dict(cat.TOPIC_WEIGHTS)
        if created < self.launch:
            weights[cat.NEW_TOPIC] = 0.0
        elif created < self.launch + timedelta(weeks=1):
            weights[cat.NEW_TOPIC] *= 1.5  # launch-week spike
        return _pick(self.rng, weights)

    def _reply(
        self, topic: str, intent: int, values: dict[str, str], created: datetime, who: dict[str, str]
    ) -> tuple[str, str | None, str]:
        rng = self.rng
        target = self.by_intent[topic][intent]
        if target.id == self.outdated_id and created >= self.policy:
            text = f"Hi {who['first']},\n\n{rng.choice(rep.POLICY_CHANGE_REPLIES)}"
            return _sign(rng, text, who, 0.5), None, "policy"
        roll = rng.random()
        answer: Answer | None = target if roll < 0.70 else None
        if 0.70 <= roll < 0.85:
            answer = self._alternative(topic, target, values, created)
        if answer is None:
            return self._free_text(topic, intent, values, who), None, "free"
        text = _edit(rng, fill_placeholders(answer.body, values), who, values)
        return text, answer.id, "library" if answer is target else "other"

    def _alternative(
        self, topic: str, target: Answer, values: Mapping[str, str], created: datetime
    ) -> Answer | None:
        """Another approved answer of the topic or a neighbouring one, fillable from this case."""
        same = [a for a in self.by_intent[topic] if a is not target]
        nearby = [
            a
            for t in cat.NEIGHBOURS[topic]
            if t != cat.NEW_TOPIC or created >= self.launch
            for a in self.by_intent[t]
        ]
        pool = same if same and self.rng.random() < 0.5 else nearby or same
        pool = [
            a
            for a in pool
            if placeholders(a.body) <= values.keys()
            and not (a.id == self.outdated_id and created >= self.policy)
        ]
        return self.rng.choice(pool) if pool else None

    def _free_text(self, topic: str, intent: int, values: Mapping[str, str], who: dict[str, str]) -> str:
        rng = self.rng
        texts = rep.FREE_TEXT[topic]
        own = texts[intent] if intent < len(texts) else rng.choice(texts)
        lines = [
            rng.choice(rep.FREE_TEXT_OPENERS),
            fill_placeholders(own, values),
            rng.choice(rep.FREE_TEXT_CLOSERS),
        ]
        text = f"{rng.choice(('Hi', 'Hello', 'Hey'))} {who['first']},\n\n" + " ".join(x for x in lines if x)
        return _sign(rng, text, who, 0.5)

    def _handle(self, mode: str, channel: str, agent: Agent) -> int:
        median = _MEDIAN_SECONDS[mode] * self.speed[agent.id] * (1.35 if channel == "email" else 1.0)
        seconds = self.rng.lognormvariate(math.log(median), 0.5)
        return int(min(max(seconds, 10.0), 3600.0))


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, [weights[k] for k in keys])[0]


def _fields(rng: random.Random, topic: str, created: datetime) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in cat.TOPIC_FIELDS[topic]:
        if name in _ID_PREFIX:
            out[name] = _ID_PREFIX[name] + "".join(rng.choices(_ID_CHARS, k=14))
        elif name == "amount":
            symbol = rng.choices(("$", "€", "£"), (0.75, 0.15, 0.1))[0]
            out[name] = f"{symbol}{rng.lognormvariate(math.log(320), 1.0):,.2f}"
        elif name == "last4":
            out[name] = f"{rng.randrange(10000):04d}"
        elif name in ("payout_date", "due_date"):
            day = created + timedelta(
                days=rng.randint(-3, 5) if name == "payout_date" else rng.randint(7, 20)
            )
            out[name] = f"{day:%B} {day.day}"
        elif name == "tax_year":
            out[name] = "2025"
        else:
            raise ValueError(f"no generator for case field {name!r} (catalog.TOPIC_FIELDS[{topic!r}])")
    return out


def _customer_text(
    rng: random.Random, template: str, values: Mapping[str, str], channel: str, tone: str, framing: bool
) -> str:
    """The customer's message: the template with tone, greeting and sign-off around it, then typos."""
    core = fill_placeholders(template, values)
    if framing and core[-1] not in ".?!":
        # A bare template would otherwise run into the tone suffix ("... secret key Why is this so hard?").
        core += "?" if core.split()[0].lower() in _QUESTION_WORDS else "."
    parts = (
        [
            fill_placeholders(rng.choice(rep.TONE_PREFIXES[tone]), values),
            core,
            rng.choice(rep.TONE_SUFFIXES[tone]),
        ]
        if framing
        else [core]
    )
    if tone == "frustrated" and rng.random() < 0.3:
        parts[1] = core.replace("?", "??")
    text = " ".join(p for p in parts if p)
    email = channel == "email"
    if rng.random() < (0.55 if email else 0.15):
        text = f"{rng.choice(rep.CUSTOMER_GREETINGS)}{chr(10) * 2 if email else ' '}{text}"
    if rng.random() < (0.5 if email else 0.08):
        signoff = fill_placeholders(rng.choice(rep.CUSTOMER_SIGNOFFS), values)
        text = f"{text}\n\n{signoff}" if email else f"{text} {signoff}"
    return _typos(rng, text, casual=not email)


def _typos(rng: random.Random, text: str, casual: bool) -> str:
    """Swapped or dropped letters, lowercase, missing punctuation; ids and amounts are left intact."""
    if rng.random() < 0.22:
        tokens = text.split(" ")
        candidates = [i for i, t in enumerate(tokens) if t.isalpha() and len(t) >= 4]
        for i in rng.sample(candidates, min(len(candidates), rng.randint(1, 2))):
            tokens[i] = _misspell(rng, tokens[i])
        text = " ".join(tokens)
    if rng.random() < (0.25 if casual else 0.06):
        text = " ".join(t if re.search(r"[\d_]", t) else t.lower() for t in text.split(" "))
    if rng.random() < (0.15 if casual else 0.04):
        text = re.sub(r"[.,!?;:]+(?=\s|$)", "", text).replace("'", "")
    return text


def _misspell(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _edit(rng: random.Random, text: str, who: Mapping[str, str], values: Mapping[str, str]) -> str:
    """An agent's light edits of a personalised library answer."""
    paragraphs = text.split("\n\n")
    if rng.random() < 0.45:
        paragraphs[0] = fill_placeholders(rng.choice(rep.REPLY_GREETINGS), who)
    if rng.random() < 0.25:
        # Agents trim a minor sentence (a fifth of the text at most), never a paragraph's first one.
        total = len(text.split())
        minor = [
            (i, j)
            for i in range(1, len(paragraphs))
            for j, sentence in enumerate(_sentences(paragraphs[i]))
            if j > 0 and len(sentence.split()) <= total / 5
        ]
        if minor:
            i, j = rng.choice(minor)
            sentences = _sentences(paragraphs[i])
            del sentences[j]
            paragraphs[i] = " ".join(sentences)
    if rng.random() < 0.35:
        added = fill_placeholders(rng.choice(rep.ADDED_SENTENCES), values)
        paragraphs.insert(rng.choice((1, len(paragraphs))), added)
    if rng.random() < 0.35:
        old, new = rng.choice(rep.WORD_SWAPS)
        paragraphs = [p.replace(old, new, 1) for p in paragraphs]
    return _sign(rng, "\n\n".join(paragraphs), who, 0.5)


def _sentences(paragraph: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", paragraph)


def _sign(rng: random.Random, text: str, who: Mapping[str, str], p: float) -> str:
    if rng.random() < p:
        return text + "\n\n" + fill_placeholders(rng.choice(rep.AGENT_SIGNOFFS), who)
    return text


def _labels(
    rng: random.Random, cases: Sequence[DemoCase], end: datetime, launch: datetime
) -> tuple[DemoLabel, ...]:
    """Experts label ~40% of cases; some twice, so agreement can be measured. Each expert errs a little."""
    labeled = rng.sample(range(len(cases)), round(EXPERT_SHARE * len(cases)))
    n_double = min(len(labeled), max(MIN_DOUBLE, round(DOUBLE_SHARE * len(labeled))))
    double = set(rng.sample(labeled, n_double))
    out: list[DemoLabel] = []
    for i in sorted(labeled):
        case = cases[i]
        for annotator in rng.sample(people.ANNOTATORS, 2 if i in double else 1):
            out.extend(_expert_labels(rng, case, annotator, end, launch))
    return tuple(out)


def _expert_labels(
    rng: random.Random, case: DemoCase, annotator: str, end: datetime, launch: datetime
) -> list[DemoLabel]:
    noise = _NOISE[annotator]
    at = min(case.created_at + timedelta(hours=rng.uniform(2.0, 240.0)), end - timedelta(seconds=1))
    valid = case.valid != (rng.random() < noise * 0.6)
    wrong_validity = valid != case.valid
    labels = [
        DemoLabel(
            case.id,
            "validity",
            "valid" if valid else "invalid",
            annotator,
            "expert",
            _confidence(rng, wrong_validity),
            at,
        )
    ]
    if not valid:
        return labels
    live = [t.key for t in cat.TOPICS if t.key != cat.NEW_TOPIC or case.created_at >= launch]
    topic, wrong = case.topic, wrong_validity
    if topic is None:
        topic = rng.choice(live)
    elif rng.random() < noise:
        options = [t for t in cat.NEIGHBOURS[topic] if t in live] or [t for t in live if t != topic]
        topic, wrong = rng.choice(options), True
    labels.append(DemoLabel(case.id, "topic", topic, annotator, "expert", _confidence(rng, wrong), at))
    return labels


def _confidence(rng: random.Random, wrong: bool) -> float:
    return round(rng.uniform(0.5, 0.85) if wrong else rng.uniform(0.75, 1.0), 2)
