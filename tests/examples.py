"""Hand-written support messages per topic, shared by the stage and eval tests."""

from __future__ import annotations

TOPIC_EXAMPLES: dict[str, list[str]] = {
    "payouts": [
        "when will my payout arrive",
        "payout is late",
        "my payout has not come",
        "payout delayed again",
        "where is my payout",
        "payout missing from bank",
        "how long do payouts take",
        "payout schedule",
    ],
    "refunds": [
        "how do i refund a customer",
        "refund failed",
        "refund the order please",
        "refund not received",
        "issue a refund",
        "partial refund for order",
        "refund status",
        "cancel and refund",
    ],
    "login": [
        "i cannot log in",
        "login password reset",
        "locked out of my account login",
        "login code not sent",
        "two factor login broken",
        "forgot login email",
        "login page error",
        "cannot sign in login",
    ],
}
