"""The demo workspace's labeling functions: the kind of cheap rules a support-ops analyst writes in an
afternoon. `workspace_module()` renders them as the `labeling_functions.py` file the demo workspace
lists in its `supportcue.toml`, so users see the format they would write themselves."""

from __future__ import annotations

KEYWORDS: dict[str, list[str]] = {
    "account_verification": [
        "verify my account",
        "verification",
        "driving licence",
        "identity document",
        "kyc",
    ],
    "api_keys": ["api key", "secret key", "roll a key", "restricted key", "revoke a key"],
    "bank_account_change": [
        "new bank",
        "bank details",
        "change my bank",
        "bank account rejected",
        "update it on",
    ],
    "card_declines": ["declined", "decline", "generic_decline", "blocked a payment", "insufficient funds"],
    "checkout_integration": [
        "integrate tillwick checkout",
        "checkout redirect",
        "checkout payment succeeded",
    ],
    "closing_account": ["close my account", "closing my account", "after closing", "delete my account"],
    "connected_accounts": ["connected account", "onboarding link", "platform fee", "sub-merchant"],
    "currency_conversion": ["currency", "convert", "exchange rate", "euros", "fx fee"],
    "disputes": ["dispute", "chargeback", "evidence"],
    "failed_payouts": [
        "failed payout",
        "payout failed",
        "was returned",
        "couldn't be delivered",
        "never received payout",
    ],
    "fees": ["fees", "fee on", "charge per transaction", "pricing", "cost more"],
    "fraud_rules": ["high risk", "review queue", "create a rule", "fraud", "risk score"],
    "instant_payouts": ["instant payout", "debit card the same day", "instant"],
    "invoices": ["invoice"],
    "login_2fa": ["log in", "locked out", "two-step", "2fa", "authenticator", "reset link", "password"],
    "pausing_payouts": [
        "pause payouts",
        "payouts are paused",
        "hold payouts",
        "stop automatic payouts",
        "paused payouts",
    ],
    "payment_links": ["payment link", "get paid with just a link"],
    "payment_methods": ["apple pay", "payment methods", "google pay", "klarna", "bank debit"],
    "payout_schedule": [
        "payout schedule",
        "weekly",
        "daily payouts",
        "hit my bank",
        "first payout",
        "payout day",
    ],
    "refunds": ["refund"],
    "reporting_exports": ["report", "export", "break it down", "which transactions were in payout"],
    "reserves_holds": ["held", "holding my funds", "reserve", "hold on our funds"],
    "statement_descriptor": ["statement", "descriptor", "doesn't recognise", "weird charge"],
    "subscriptions": ["subscription", "proration", "renewal", "plan"],
    "tax_forms": ["1099", "tax form", "tax id", "w-9"],
    "team_permissions": ["team member", "employee", "roles", "bookkeeper", "remove their access"],
    "test_mode": ["test mode", "sandbox", "test card", "from test to live"],
    "webhooks": ["webhook", "endpoint", "signature", "resend event"],
}
"""Topic -> phrases; a message containing any of them votes for the topic (lower-cased matching)."""

GREETING_ONLY = (
    r"^\s*(hi|hello|hey|good (morning|afternoon|evening))( there| team| tillwick( team)?)?[\s!.,]*$"
)
THANKS = r"^\s*(thanks|thank you|cheers|many thanks|ty)\b[^?]{0,60}$"
QUESTION = r"\?|\b(how|why|what|when|where|can i|can you|do i|is there)\b"


def _literal(pattern: str) -> str:
    """A pattern as a Python literal that reads back as itself: raw (`r'...'`, as a person writes a
    regex) when it can be; `repr` (backslashes doubled, no `r`) otherwise. An `r` before a repr
    doubled every backslash: `\\s` asked for a literal backslash."""
    if "'" not in pattern and "\n" not in pattern and not pattern.endswith("\\"):
        return f"r'{pattern}'"
    return repr(pattern)


def workspace_module() -> str:
    """The source of the demo workspace's `labeling_functions.py`."""
    lines = [
        '"""Labeling functions of the demo workspace (listed in supportcue.toml: labeling_functions).',
        "",
        "Each returns a label or abstains; `supportcue weak apply` runs them over the cases, combines their",
        'votes with a label model, and stores the result as labels with source "weak"."""',
        "",
        "from supportcue.weak import keyword_lf, regex_lf",
        "",
        "# validity",
        f"greeting_only = regex_lf('greeting_only', {_literal(GREETING_ONLY)}, 'invalid', task='validity')",
        f"thanks_only = regex_lf('thanks_only', {_literal(THANKS)}, 'invalid', task='validity')",
        f"asks_something = regex_lf('asks_something', {_literal(QUESTION)}, 'valid', task='validity')",
        "",
        "# topics",
    ]
    for topic, words in KEYWORDS.items():
        lines.append(f"kw_{topic} = keyword_lf('kw_{topic}', {words!r}, {topic!r})")
    return "\n".join(lines) + "\n"
