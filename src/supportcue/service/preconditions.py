"""What a change of an answer must say before it is made (PATCH /v1/answers/{id}, the /library forms).

The version it was made on: `base_version` in the body or an `If-Match: "N"` header (the answer's
ETag); a PATCH that names none is 428, since a change on no version silently overwrote whatever
another reviewer saved meanwhile (a lost update). A version the answer has moved on from is 409 for
`base_version`, 412 for If-Match (as HTTP has it). `If-Match: *` matches any current representation
(RFC 9110): the change applies to the answer whatever its version, and an answer that does not
exist is still 404.

And, for a topic the workspace lacks, that it starts a new one (`new_topic`, "New topic" on the
forms): an answer on a misspelt topic ("refnd") is one no suggestion can pick (`data/library.py`'s
`unknown_topic`).
"""

from __future__ import annotations

from fastapi import HTTPException

from supportcue.data.library import AnswerChange, unknown_topic
from supportcue.service.runtime import Runtime
from supportcue.service.schemas import AnswerPatch

API_NEW_TOPIC = 'send "new_topic": true'
FORM_NEW_TOPIC = 'tick "New topic"'
NO_BASE_VERSION = (
    "say which version of the answer your change was made on, so that it cannot overwrite a newer "
    "one someone else saved: send `base_version` in the body (the `version` of the answer as you "
    'read it: GET /v1/answers, or its /versions, newest first), or an If-Match header with it (If-Match: "3")'
)
NO_FORM_VERSION = (
    "the form needs base_version, the version of the answer its page showed (a change on no version "
    "would overwrite one someone saved meanwhile)"
)


ANY_VERSION = "*"


def if_match(value: str) -> int | None:
    """The version an If-Match header names: `"3"` (the ETag of version 3) or a bare `3`; None for
    `*` (any version of an answer that exists)."""
    tag = value.strip()
    if tag == ANY_VERSION:
        return None
    if tag.startswith('"') and tag.endswith('"') and len(tag) >= 2:
        tag = tag[1:-1]
    if not tag.isascii() or not tag.isdigit():
        raise HTTPException(
            422, detail=f'If-Match {value[:40]!r}: give the one version your change was made on, e.g. "3"'
        )
    return int(tag)


def patch_base_version(body: AnswerPatch, header: str | None) -> tuple[int | None, int]:
    """The version a PATCH was made on (its `base_version`, or its If-Match `header`; None for
    `If-Match: *` alone, any version) and the status of a refusal when the answer moved on since
    (409, or 412 for If-Match); 428 when it names none."""
    from_header = if_match(header) if header is not None else None
    if from_header is None and header is not None and body.base_version is None:
        return None, 412  # `*`: whatever version the answer is at (a missing answer is still 404)
    if from_header is not None and body.base_version is not None and from_header != body.base_version:
        raise HTTPException(
            422,
            detail=f"base_version {body.base_version} and If-Match {from_header} differ: send one of them",
        )
    if from_header is not None:
        return from_header, 412
    if body.base_version is None:
        raise HTTPException(428, detail=f"PATCH needs a base version: {NO_BASE_VERSION}")
    return body.base_version, 409


def check_topic(runtime: Runtime, change: AnswerChange, how: str) -> None:
    """422 for a change naming a topic the workspace lacks (`unknown_topic`, `how` the caller says it
    starts one). Known: the store's topics and topic keys in use, and the live topic stage's topics."""
    if not change.topic:
        return
    known = runtime.store.library.known_topics()
    stage = runtime.pipeline.stages.get("topic") if runtime.pipeline is not None else None
    known |= set(getattr(stage, "topics_", ()))  # an unfitted stage has none
    problem = unknown_topic(change.topic, known, how)
    if problem:
        raise HTTPException(422, detail=problem)
