"""The LLM modes' parts, used by the `draft` and `tone` stages: an OpenAI-compatible client, the
prompts, the sources of a draft, privacy (personal data masked before anything is sent), and the
grounding check."""

from supportcue.llm.client import (
    CachedChatClient,
    ChatClient,
    ChatMessage,
    Completion,
    FakeChatClient,
    OpenAIChatClient,
    make_client,
)
from supportcue.llm.grounding import Grounding, GroundingCheck, strip_citations
from supportcue.llm.privacy import Masker
from supportcue.llm.prompts import REFUSAL, LLMPolicy, PromptTemplate
from supportcue.llm.sources import Source

__all__ = [
    "REFUSAL",
    "CachedChatClient",
    "ChatClient",
    "ChatMessage",
    "Completion",
    "FakeChatClient",
    "Grounding",
    "GroundingCheck",
    "LLMPolicy",
    "Masker",
    "OpenAIChatClient",
    "PromptTemplate",
    "Source",
    "make_client",
    "strip_citations",
]
