"""What a customer (or an agent) wrote in an email, without what the mail client added.

A help desk's email channel hands over the whole body: the new text on top, then the quoted history
of the exchange, a signature, a legal footer, often as HTML. The models must read only the new text
(a quoted answer about payouts made a password question look like a payout question) and the quoted
block's names and addresses must not reach the stored message, the logs or an LLM prompt.

`clean(text)` does, in order:

1. HTML (a body with tags such as `<p>`, `<br>`, `<div>`): tags removed, block elements and `<br>`
   made line breaks, entities decoded; `<blockquote>`, `<style>`, `<script>` and `<head>` dropped
   with their content.
2. Quoted history: everything from the first reply or forward header on (`On <date>, <name> wrote:`
   and its German, Spanish, French, Italian, Dutch and Portuguese forms, `-----Original Message-----`,
   Outlook's `From: ...` / `Sent:` or `Date:` block, `---------- Forwarded message ---------`,
   `Begin forwarded message:`; a forward's body is kept, below), and the lines starting with `>`
   when there are two or more (a quote block or an inline reply; a single one is the writer's own,
   "> 100 EUR was charged twice").
3. Signature and footer: everything after a `-- ` signature delimiter line, "Sent from my ..." /
   "Get Outlook for ..." lines, and a trailing confidentiality notice (a line from "CONFIDENTIALITY
   NOTICE" / "DISCLAIMER" on, or a paragraph that starts "This e-mail/message ..." and says it is
   confidential or meant for its recipient).

Text that is not an email (a chat message, a one-liner) comes back unchanged but for surrounding
blanks. A forward's body is read below the writer's own text, without its header lines and its own
quoted history: the customer sends it now ("Why did this happen?" above a forwarded notice), while a
quoted reply is the exchange's history. When nothing is left at all, the text as it came (tags
removed) is kept, so no message is lost to the cleaning.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from lxml import etree

__all__ = ["clean", "html_to_text", "looks_like_html"]

_TAG = re.compile(
    r"<\s*/?\s*(?:p|br|div|span|html|body|head|table|tr|td|blockquote|ul|ol|li|a|b|i|strong|em|"
    r"font|img|hr|h[1-6]|meta|style|pre)\b[^<>]*>",
    re.IGNORECASE,
)
_BLOCK = {"p", "div", "br", "tr", "li", "ul", "ol", "table", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "pre"}
_SKIPPED = {"style", "script", "head", "title"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source"}


def looks_like_html(text: str) -> bool:
    """True when the text carries HTML markup (a tag of a common element)."""
    return "<" in text and bool(_TAG.search(text))


class _Text:
    """The text of an HTML body as libxml2's HTML parser reads it (an lxml parser target): block
    elements as line breaks, skipped elements (quotes, styles, scripts) left out."""

    def __init__(self, drop_quotes: bool) -> None:
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.drop_quotes = drop_quotes

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        tag = str(tag).lower()
        classes = " ".join(str(v) for k, v in attrib.items() if str(k).lower() in ("class", "id")).lower()
        quoted = self.drop_quotes and (
            tag == "blockquote" or any(q in classes for q in ("gmail_quote", "yahoo_quoted", "divrplyfwdmsg"))
        )
        if tag not in _VOID and (self.skipping or tag in _SKIPPED or quoted):
            self.skipping.append(tag)
            return
        if tag in _BLOCK and not self.skipping:
            self.parts.append("\n")

    def end(self, tag: str) -> None:
        tag = str(tag).lower()
        if tag in _VOID:  # the parser closes a `<br>` at once: its start made the line break
            return
        if self.skipping:
            if tag in self.skipping:
                while self.skipping and self.skipping.pop() != tag:
                    pass
            return
        if tag in _BLOCK:
            self.parts.append("\n")

    def data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)

    def comment(self, text: str) -> None:  # comments, processing instructions, the doctype: no text
        pass

    def pi(self, target: str, data: str | None = None) -> None:
        pass

    def doctype(self, *args: object) -> None:
        pass

    def close(self) -> None:
        pass


def _read(text: str, into: _Text) -> None:
    """Hand `into` the tags and the text (entities decoded) of the HTML `text`: libxml2's HTML parser
    (lxml), which reads markup that never closes in linear time and recovers from any malformed
    markup as a browser would (an unclosed comment runs to the end). Python 3.11's
    `html.parser.HTMLParser` was quadratic on such markup (200 kB of `<a`, of `<!--` or of
    `<p a='>'` took minutes, holding every request of the server: an e-mail a customer writes
    reaches here whole) and raised on a marked section of an unknown name (`<![x]>`: a 500, and a
    Chatwoot customer's message lost). A lone surrogate (a JSON `\\ud800`) is read as `?`."""
    parser = etree.HTMLParser(target=into, recover=True, no_network=True)
    parser.feed(text.encode("utf-8", "replace").decode("utf-8"))
    parser.close()


def html_to_text(text: str, drop_quotes: bool = True) -> str:
    """The text of an HTML body: block elements and `<br>` as line breaks, entities decoded, quoted
    blocks (`<blockquote>`, Gmail's and Yahoo's quote containers) dropped unless `drop_quotes` is
    false."""
    found = _Text(drop_quotes)
    _read(text, found)
    joined = html.unescape("".join(found.parts)).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in joined.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_ATTRIBUTION = re.compile(
    r"^\s*(?:on|am|el|le|il|op|em|den)\b.{0,300}?\b"
    r"(?:wrote|schrieb|escribió|a\s+écrit|ha\s+scritto|schreef|escreveu|skrev)\b[^:\n]{0,200}:\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:original\s+message|ursprüngliche\s+nachricht|mensaje\s+original|"
    r"message\s+d'origine|messaggio\s+originale|oorspronkelijk\s+bericht|mensagem\s+original|"
    r"forwarded\s+message|weitergeleitete\s+nachricht|mensaje\s+reenviado|message\s+transféré)\s*-{2,}\s*$"
    r"|^\s*begin\s+forwarded\s+message\s*:\s*$",
    re.IGNORECASE,
)
_FORWARD = re.compile(r"forward|weitergeleitet|reenviado|transféré|begin", re.IGNORECASE)
_HEADER = re.compile(
    r"^\s*\*?(?:from|von|de|da|van|sent|gesendet|enviado|envoyé|date|datum|fecha|to|an|para|à|a|cc|"
    r"subject|betreff|asunto|objet|oggetto|onderwerp|reply-to)\s*:\*?\s",
    re.IGNORECASE,
)
_FROM = re.compile(r"^\s*\*?(?:from|von|de|da|van)\s*:\*?\s+\S", re.IGNORECASE)
_SENT = re.compile(r"^\s*\*?(?:sent|gesendet|enviado|envoyé|date|datum|fecha)\s*:\*?\s+\S", re.IGNORECASE)
_SIG_DELIMITER = re.compile(r"^--\s?$")
_MOBILE = re.compile(
    r"^\s*(?:sent\s+from\s+my\s+\S.*|sent\s+from\s+(?:outlook|mail|yahoo\s+mail|gmail)\b.*|"
    r"get\s+outlook\s+for\s+\S.*|von\s+meinem\s+\S.*\s+gesendet|enviado\s+desde\s+mi\s+\S.*|"
    r"envoyé\s+de\s+mon\s+\S.*)$",
    re.IGNORECASE,
)
_NOTICE = re.compile(
    r"^\s*(?:\*+\s*)?(?:confidentiality\s+(?:notice|note|statement)|disclaimer|legal\s+notice)\b",
    re.IGNORECASE,
)
_NOTICE_PARAGRAPH = re.compile(
    r"^\s*(?:this|the\s+information\s+in\s+this)\s+(?:e-?mail|message|communication)\b", re.IGNORECASE
)
_NOTICE_WORDS = re.compile(
    r"\bconfidential|\bintended\s+(?:solely\s+|only\s+)?for\b|\brecipient", re.IGNORECASE
)


def _attribution(line: str) -> bool:
    """An "On <date>, <name> wrote:" line: the pattern, and a digit (the date or time)."""
    return bool(_ATTRIBUTION.match(line)) and any(c.isdigit() for c in line)


def _quote_start(lines: list[str]) -> tuple[int, bool] | None:
    """(index of the first line of quoted history, whether it is a forward), or None."""
    for i, line in enumerate(lines):
        if _SEPARATOR.match(line):
            return i, bool(_FORWARD.search(line))
        if _attribution(line):
            return i, False
        wrapped = i + 1 < len(lines) and len(line) < 300
        if wrapped and _attribution(f"{line} {lines[i + 1]}"):
            return i, False
        if _FROM.match(line) and any(_SENT.match(n) for n in lines[i + 1 : i + 5]):
            start = i - 1 if i and re.fullmatch(r"\s*_{5,}\s*", lines[i - 1]) else i
            return start, False
    return None


def _without_signature(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if _SIG_DELIMITER.match(line) and out:
            break
        if _NOTICE.match(line) and any(x.strip() for x in out):
            break
        out.append(line)
    kept = [line for line in out if not _MOBILE.match(line)]
    # a trailing "This e-mail ... confidential ... intended recipient" paragraph
    paragraphs = "\n".join(kept).split("\n\n")
    while len(paragraphs) > 1:
        last = paragraphs[-1]
        if _NOTICE_PARAGRAPH.match(last) and len(_NOTICE_WORDS.findall(last)) >= 1:
            paragraphs.pop()
        else:
            break
    return "\n\n".join(paragraphs).splitlines()


def _forwarded_body(lines: list[str]) -> list[str]:
    """The body of a forwarded message: the lines after its header block."""
    body = list(lines[1:])
    while body and (not body[0].strip() or _HEADER.match(body[0])):
        body.pop(0)
    return body


def _unquoted(lines: list[str]) -> list[str]:
    """`lines` without quoted ones (starting with `>`) when they are quoting: two or more of them (a
    mail client's quote block, an inline reply). A single such line is the writer's own ("> 100 EUR
    was charged twice")."""
    quoted = [line.lstrip().startswith(">") for line in lines]
    if sum(quoted) < 2:
        return lines
    return [line for line, q in zip(lines, quoted, strict=True) if not q]


def clean(text: str) -> str:
    """The new text of an email body (see the module docstring); other text unchanged but stripped."""
    if not text:
        return text
    is_html = looks_like_html(text)
    if is_html:
        plain = html_to_text(text)
        if not plain.strip():
            plain = html_to_text(text, drop_quotes=False)
    else:
        plain = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = plain.split("\n")
    found = _quote_start(lines)
    forwarded: list[str] = []
    if found is not None:
        start, is_forward = found
        if is_forward:
            forwarded = _forwarded_body(lines[start:])
        lines = lines[:start]
    lines = _unquoted(lines)
    result = "\n".join(_without_signature(lines)).strip()
    if forwarded:  # sent now, unlike a quoted reply's history: read below the writer's own text
        rest = _quote_start(forwarded)
        if rest is not None:
            forwarded = forwarded[: rest[0]]
        body = "\n".join(_without_signature(_unquoted(forwarded))).strip()
        result = f"{result}\n\n{body}".strip()
    if not result or result == plain.strip():  # nothing left, or nothing removed: the text as it came
        return plain.strip() if is_html else text.strip()
    return result
