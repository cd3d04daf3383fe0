"""A small workspace for the LLM tests: an answer library, KB articles, a customer with personal
data, and the pipeline `serve` would run in the llm and hybrid modes (real response, draft and tone
stages, a keyword topic stage; the real topic classifier is tested elsewhere), talking to a
`ChatServer` over HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from supportcue.embeddings import HashingEmbedder
from supportcue.llm.client import OpenAIChatClient
from supportcue.llm.prompts import LLMPolicy
from supportcue.pipeline import Pipeline, SuggestRequest
from supportcue.settings import PipelineSettings, ToneSettings
from supportcue.stages.base import Message, Services, Stage, StageResult
from supportcue.stages.draft import DraftStage
from supportcue.stages.library import KBArticle, LibraryAnswer, StaticArticles, StaticLibrary
from supportcue.stages.response import ResponseStage
from supportcue.stages.tone import ToneStage
from supportcue.stages.topic import TopicResult

EMBEDDER = HashingEmbedder(dim=1024)

LIBRARY = [
    LibraryAnswer(
        "ans-pause",
        "payouts",
        "Pause payouts",
        "To pause payouts, go to Settings → Payouts and choose Manual. "
        "Your funds stay in your Tillwick balance for up to 90 days.",
    ),
    LibraryAnswer(
        "ans-refund",
        "refunds",
        "Refund timing",
        "Refunds take 5 to 10 business days to reach the customer's card. "
        "The processing fee of 2.9% is not returned.",
    ),
    LibraryAnswer(
        "ans-plans",
        "plans",
        "Plans",
        "The Growth plan costs $49 a month and includes 3 team members. "
        "You can change your plan under Settings → Billing.",
    ),
]
ARTICLES = [
    KBArticle(
        "kb-refunds",
        "Refunds",
        "A refund goes back to the card or bank account the customer paid with.\n\n"
        "You can follow the status of each refund under Payments → Refunds.",
        "refunds",
    ),
    KBArticle(
        "kb-payouts",
        "Payout schedule",
        "Payouts are sent daily, weekly or monthly. Standard payouts arrive 2 business days after "
        "the funds become available.",
        "payouts",
    ),
]

NAME = "Ana Silva"
EMAIL = "ana.silva@example.com"
PHONE = "+44 20 7946 0958"
CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"
ORDER = "A-10293"
PERSONAL = (
    NAME,
    "Silva",
    EMAIL,
    PHONE,
    "2079460958",
    CARD,
    "4111111111111111",
    IBAN,
    "DE89370400440532013000",
    ORDER,
)
"""Every way the customer's data could appear in what is sent."""
ABOUT_ME = f"I'm {NAME} ({EMAIL}, {PHONE}); card {CARD}, IBAN {IBAN}, order {ORDER}."

KEYWORDS = {"payout": "payouts", "refund": "refunds", "fee": "refunds", "plan": "plans"}


class KeywordTopic(Stage):
    """The topic by keyword (fast and deterministic)."""

    name = "topic"
    fit_data = "none"

    def fit(self, X: Sequence[Message] = (), y: object = None, sample_weight: object = None) -> Self:
        self.fitted_ = True
        return self

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        out: list[StageResult] = []
        for m in batch:
            topic = next((t for k, t in KEYWORDS.items() if k in m.text.lower()), None)
            out.append(TopicResult(topic, 0.9) if topic else TopicResult.abstain("no keyword"))
        return out


def policy(**changes: object) -> LLMPolicy:
    return LLMPolicy(
        style_rules=("Write plainly.",),
        guard_rails=("Use only the sources.",),
        support_floor=0.5,
        **changes,  # type: ignore[arg-type]
    )


def client(url: str, timeout_ms: int = 3000, retries: int = 2) -> OpenAIChatClient:
    return OpenAIChatClient(
        url, "scripted-model", "sk-test-key", timeout_ms=timeout_ms, retries=retries, backoff_ms=20
    )


def pipeline(
    url: str,
    mode: str = "llm",
    tone: ToneSettings | None = None,
    timeout_ms: int = 5000,
    llm_timeout_ms: int = 3000,
    **modes: str,
) -> Pipeline:
    """The stages `serve` runs in `mode` (llm or hybrid), with the LLM at `url`."""
    services = Services(
        embedder=EMBEDDER,
        library=StaticLibrary(LIBRARY),
        articles=StaticArticles(ARTICLES, EMBEDDER),
        llm=client(url, llm_timeout_ms),
    )
    questions = ["how do I pause payouts", "how long does a refund take", "how much is the growth plan"]
    response = ResponseStage(min_score=0.35).bind(services)
    response.fit(
        [Message(q, v) for q, v in zip(questions, EMBEDDER.embed(questions), strict=True)],
        ["ans-pause", "ans-refund", "ans-plans"],
        library=LIBRARY,
    )
    llm_policy = policy()
    stages: dict[str, Stage | None] = {
        "topic": KeywordTopic().fit(),
        "response": response,
        "draft": DraftStage(mode, llm_policy).bind(services).fit(),
        "tone": ToneStage(tone or ToneSettings(), llm_policy=llm_policy).bind(services).fit(),
    }
    return Pipeline(stages, EMBEDDER, PipelineSettings(timeout_ms=timeout_ms, **modes))


def ask(message: str, case_id: str = "c-1") -> SuggestRequest:
    """A request from the customer, with their data in the message and the case."""
    return SuggestRequest(
        f"{message} {ABOUT_ME}",
        case_id=case_id,
        customer_name=NAME,
        agent_name="Sam",
        fields={"order_id": ORDER},
    )
