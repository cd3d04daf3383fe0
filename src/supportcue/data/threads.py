"""The thread format: a case's `context`, the earlier turns of its conversation, oldest first.

Each turn is a string (a customer's turn) or an object `{"role": "customer" | "agent", "text": ...}`
(`content` is read as `text`; a missing role is the customer's). A cases file gives it as a JSON list
in its `context` column (a CSV cell holds the JSON text), e.g.

    [{"role": "customer", "text": "My payout is late"}, {"role": "agent", "text": "Which account?"}]

and the case's `message` is the customer's latest turn, the one a suggestion is for. Blank turns are
dropped; anything else in a turn is not kept.
"""

from __future__ import annotations

from typing import Any

ROLES = ("customer", "agent")


def check_context(turns: list[Any]) -> list[dict[str, str]]:
    """`turns` in the thread format; a `ValueError` naming the turn (never its text) otherwise."""
    out = []
    for i, turn in enumerate(turns):
        role: Any
        text: Any
        if isinstance(turn, str):
            role, text = "customer", turn
        elif isinstance(turn, dict):
            role, text = turn.get("role") or "customer", turn.get("text", turn.get("content"))
            if not isinstance(text, str):
                raise ValueError(f"turn {i + 1} has no text: give each turn as {{role, text}}")
            if role not in ROLES:
                raise ValueError(f"turn {i + 1}: role must be customer or agent")
        else:
            raise ValueError(f"turn {i + 1} is neither a string nor an object {{role, text}}")
        if text.strip():
            out.append({"role": role, "text": text.strip()})
    return out
