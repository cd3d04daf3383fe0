"""The prompts of the LLM modes: editable templates in the workspace, and the admin's guidance.

A workspace keeps its templates in `prompts/` (`[llm] prompts`): `response.txt` (the draft of a reply
from sources) and `tone.txt` (a rewrite in the team's voice). `supportcue init` writes the defaults
there; a missing file means the default. A template has a `[system]` and a `[user]` section and
`$name` placeholders (`$$` is a dollar sign):

- response: `$sources` (one line per source, `[id] text`), `$message`, `$thread` (earlier turns),
  `$topic`, `$style_rules`, `$guard_rails`, `$max_chars`, `$refusal`;
- tone: `$text`, `$style_rules`, `$guard_rails`, `$max_chars`.

The guidance lists (`[llm] style_rules`, `guard_rails`) and the length limit (`max_chars`) are the
settings a support lead edits, like peers' "guidance" pages. Templates, guidance and the model make
an `LLMPolicy`, whose `digest` is part of the stage's version, so every suggestion records which
prompt wrote it (the pipeline version changes when a prompt does).

The model answers `CANNOT_ANSWER` (the `REFUSAL` marker) when the sources do not answer the question.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from supportcue.errors import SettingsError
from supportcue.llm.client import ChatMessage

if TYPE_CHECKING:
    from supportcue.settings import Settings

REFUSAL = "CANNOT_ANSWER"

RESPONSE_FIELDS = frozenset(
    {"sources", "message", "thread", "topic", "style_rules", "guard_rails", "max_chars", "refusal"}
)
TONE_FIELDS = frozenset({"text", "style_rules", "guard_rails", "max_chars"})

DEFAULT_RESPONSE = """\
[system]
You draft replies for a customer-support agent, who reviews each draft before sending it.
Write the reply from the sources the user gives you, and from nothing else. After each statement,
cite its source with the source's id in square brackets, like [kb-payouts-1].
If the sources do not answer the customer's question, reply with exactly $refusal and nothing else.

Style:
$style_rules

Rules:
$guard_rails
- Words in square brackets such as [NAME_1] or [ORDER_1] stand for the customer's data: copy them as
  they are, never guess what they hide.
- At most $max_chars characters.
[user]
Sources (topic: $topic):
$sources

Earlier in the conversation:
$thread

The customer's message:
$message
"""

DEFAULT_TONE = """\
[system]
You rewrite a customer-support reply in the team's voice without changing what it says.
Keep every fact exactly as written: amounts, numbers, dates, time frames, links, email addresses,
names of products, plans and settings, and every "not". Add no fact and drop none.

Style:
$style_rules

Rules:
$guard_rails
- Words in square brackets such as [NAME_1] or [ORDER_1] stand for the customer's data: copy them as
  they are.
- At most $max_chars characters. No greeting and no sign-off.
Reply with the rewritten text only.
[user]
$text
"""

DEFAULTS = {"response": (DEFAULT_RESPONSE, RESPONSE_FIELDS), "tone": (DEFAULT_TONE, TONE_FIELDS)}
_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PromptTemplate:
    """One template: its system and user parts, with `$name` placeholders."""

    name: str
    system: str
    user: str

    def render(self, **values: object) -> list[ChatMessage]:
        """The chat messages, placeholders filled (a value the template does not use is ignored)."""
        text = {k: str(v) for k, v in values.items()}
        return [
            ChatMessage("system", string.Template(self.system).substitute(text).strip()),
            ChatMessage("user", string.Template(self.user).substitute(text).strip()),
        ]


def parse_template(name: str, text: str, where: str = "<default>") -> PromptTemplate:
    """A template from its text; errors name the file, the line and what is allowed."""
    allowed = DEFAULTS[name][1]
    parts = _SECTION.split(text)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    if set(sections) != {"system", "user"} or parts[0].strip():
        raise SettingsError(
            f"{where}: a prompt template has a [system] line, its text, a [user] line and its text"
        )
    for lineno, line in enumerate(text.splitlines(), start=1):
        for match in string.Template.pattern.finditer(line):
            key = match.group("named") or match.group("braced")
            if match.group("invalid") is not None:
                raise SettingsError(f"{where}:{lineno}: a lone '$' (write $$ for a dollar sign)")
            if key and key not in allowed:
                raise SettingsError(
                    f"{where}:{lineno}: unknown placeholder ${key}; allowed: "
                    + ", ".join(f"${k}" for k in sorted(allowed))
                )
    return PromptTemplate(name, sections["system"].strip("\n"), sections["user"].strip("\n"))


def load_template(folder: Path, name: str) -> PromptTemplate:
    """`folder/NAME.txt`, or the default when the file is not there."""
    path = folder / f"{name}.txt"
    if not path.exists():
        return parse_template(name, DEFAULTS[name][0])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read the prompt template: {exc}") from None
    return parse_template(name, text, str(path))


def write_default_prompts(folder: Path) -> None:
    """Write the default templates into `folder` (an existing file is kept: it is the team's)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (text, _) in DEFAULTS.items():
        path = folder / f"{name}.txt"
        if not path.exists():
            path.write_text(text, encoding="utf-8")


def bullets(lines: Sequence[str]) -> str:
    return "\n".join(f"- {line}" for line in lines if line.strip()) or "- (none)"


@dataclass(frozen=True)
class LLMPolicy:
    """What the LLM stages are told and how they check it: re-read from the settings at every load."""

    response: PromptTemplate = field(default_factory=lambda: parse_template("response", DEFAULT_RESPONSE))
    tone: PromptTemplate = field(default_factory=lambda: parse_template("tone", DEFAULT_TONE))
    style_rules: tuple[str, ...] = ()
    guard_rails: tuple[str, ...] = ()
    max_chars: int = 700
    privacy: bool = True
    max_answers: int = 3
    max_articles: int = 3
    min_article_score: float = 0.3
    support_floor: float = 0.55
    product_names: tuple[str, ...] = ()
    model: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMPolicy:
        llm = settings.llm
        folder = settings.workspace / llm.prompts
        return cls(
            response=load_template(folder, "response"),
            tone=load_template(folder, "tone"),
            style_rules=tuple(llm.style_rules),
            guard_rails=tuple(llm.guard_rails),
            max_chars=llm.max_chars,
            privacy=llm.privacy,
            max_answers=llm.max_answers,
            max_articles=llm.max_articles,
            min_article_score=llm.min_article_score,
            support_floor=llm.support_floor,
            product_names=tuple(settings.tone.product_names),
            model=f"{llm.model} t={llm.temperature} max={llm.max_tokens}",
        )

    def guidance(self) -> Mapping[str, object]:
        """The values every template may use."""
        return {
            "style_rules": bullets(self.style_rules),
            "guard_rails": bullets(self.guard_rails),
            "max_chars": self.max_chars,
            "refusal": REFUSAL,
        }

    @property
    def digest(self) -> str:
        """A short hash of everything that shapes a prompt or its check (part of the stage's version)."""
        return hashlib.sha256(repr(self).encode("utf-8")).hexdigest()[:10]
