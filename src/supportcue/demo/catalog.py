"""The fictional payments platform "Tillwick": its support topics, the people, and case fields.

Texts live in the sibling modules: `catalog_answers*` (answer library), `catalog_articles` (KB),
`catalog_messages*` (customer message templates), `catalog_replies` (the words around them) and
`catalog_people` (agents, experts, owners, customers).
Everything here is invented; `.example` domains are used for any address.
"""

from __future__ import annotations

from typing import NamedTuple

PRODUCT = "Tillwick"
NEW_TOPIC = "instant_payouts"


class AnswerSpec(NamedTuple):
    """A library answer's title and paragraphs (the greeting is added by `body`)."""

    title: str
    paragraphs: tuple[str, ...]


def answer(title: str, *paragraphs: str) -> AnswerSpec:
    return AnswerSpec(title, paragraphs)


def body(spec: AnswerSpec) -> str:
    """The answer's text as stored in the library: greeting line, then the paragraphs."""
    return "Hi {customer_name},\n\n" + "\n\n".join(spec.paragraphs)


class TopicSpec(NamedTuple):
    key: str
    name: str
    area: str
    description: str


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        "payout_schedule",
        "Payout schedule and timing",
        "payouts",
        "When a payout reaches the bank: how long funds stay pending, the daily/weekly/monthly "
        "schedule, the first-payout delay for new accounts and bank holidays.",
    ),
    TopicSpec(
        "pausing_payouts",
        "Pausing payouts",
        "payouts",
        "Merchants who want to stop automatic payouts for a while, switch to manual payouts or "
        "resume them, and what happens to the balance in the meantime.",
    ),
    TopicSpec(
        "failed_payouts",
        "Failed or returned payouts",
        "payouts",
        "A payout the bank rejected or returned (closed account, wrong routing number, name "
        "mismatch), where the money goes and how to retry it.",
    ),
    TopicSpec(
        "bank_account_change",
        "Changing the payout bank account",
        "payouts",
        "Adding, replacing or verifying the bank account payouts go to, including the security "
        "hold after a change and accounts in other currencies.",
    ),
    TopicSpec(
        "instant_payouts",
        "Instant payouts to debit cards",
        "payouts",
        "The instant payouts product launched in October 2026: eligibility, adding a debit card, "
        "the 1% fee, limits and why an instant payout may be unavailable.",
    ),
    TopicSpec(
        "refunds",
        "Refunds",
        "payments",
        "Issuing full or partial refunds, how long they take to reach the cardholder, refunding "
        "with an insufficient balance and cancelling a refund.",
    ),
    TopicSpec(
        "disputes",
        "Disputes and chargebacks",
        "disputes",
        "A cardholder disputed a charge with their bank: the dispute fee, deadlines, what evidence "
        "to submit and how the outcome is decided.",
    ),
    TopicSpec(
        "account_verification",
        "Account verification",
        "account",
        "Identity and business verification requests: which documents are accepted, why a "
        "document was rejected and what happens to payments while verification is pending.",
    ),
    TopicSpec(
        "api_keys",
        "API keys",
        "developers",
        "Finding, rolling and restricting secret and publishable API keys, and errors caused by a "
        "wrong or revoked key.",
    ),
    TopicSpec(
        "webhooks",
        "Webhooks",
        "developers",
        "Webhook endpoints that fail or stop receiving events: signature verification, retries, "
        "disabled endpoints and replaying missed events.",
    ),
    TopicSpec(
        "fees",
        "Pricing and fees",
        "billing",
        "What Tillwick charges per transaction, for international cards, disputes and instant "
        "payouts, and where to see the fees taken from a payment.",
    ),
    TopicSpec(
        "currency_conversion",
        "Currency conversion",
        "payments",
        "Charging in other currencies, the conversion fee and rate, settling in several "
        "currencies and why an amount differs from what the customer saw.",
    ),
    TopicSpec(
        "card_declines",
        "Card declines",
        "payments",
        "A customer's card was declined: reading the decline code, issuer declines versus "
        "Tillwick Shield blocks, and what to tell the customer.",
    ),
    TopicSpec(
        "subscriptions",
        "Subscriptions and recurring billing",
        "billing",
        "Creating, changing, pausing and cancelling subscriptions in Tillwick Billing, proration "
        "and failed renewal payments.",
    ),
    TopicSpec(
        "invoices",
        "Invoices",
        "billing",
        "Sending invoices, reminders, marking an invoice paid outside Tillwick, voiding or "
        "correcting an invoice and invoice numbering.",
    ),
    TopicSpec(
        "tax_forms",
        "Tax forms (1099-K)",
        "account",
        "Annual tax forms: who receives a 1099-K, when they are issued, correcting the tax ID and "
        "downloading past forms.",
    ),
    TopicSpec(
        "login_2fa",
        "Login and two-step verification",
        "account",
        "Locked out of the Dashboard, lost phone or authenticator app, backup codes, password "
        "resets and suspicious login alerts.",
    ),
    TopicSpec(
        "closing_account",
        "Closing an account",
        "account",
        "Merchants who want to close their Tillwick account: the remaining balance, open disputes, "
        "data export and what happens after closure.",
    ),
    TopicSpec(
        "connected_accounts",
        "Connected accounts (Tillwick Platforms)",
        "developers",
        "Platforms and marketplaces that onboard sellers as connected accounts: onboarding links, "
        "requirements, payouts to sellers and platform fees.",
    ),
    TopicSpec(
        "payment_methods",
        "Payment methods",
        "payments",
        "Turning on wallets, bank debits, buy-now-pay-later and local payment methods, and why a "
        "method doesn't appear at checkout.",
    ),
    TopicSpec(
        "reserves_holds",
        "Reserves and held funds",
        "account",
        "Rolling or fixed reserves, funds held after a risk review, why the available balance is "
        "lower than expected and when held funds are released.",
    ),
    TopicSpec(
        "fraud_rules",
        "Fraud screening (Tillwick Shield)",
        "disputes",
        "Tillwick Shield risk scores, blocked or flagged payments, writing custom rules and allow/"
        "block lists, and reviewing payments placed in review.",
    ),
    TopicSpec(
        "checkout_integration",
        "Checkout integration",
        "developers",
        "Integrating Tillwick Checkout or the embedded payment form: redirects, success URLs, "
        "confirming payments and common integration errors.",
    ),
    TopicSpec(
        "payment_links",
        "Payment links",
        "payments",
        "Creating shareable payment links without code, custom amounts, quantities, deactivating "
        "a link and seeing who paid.",
    ),
    TopicSpec(
        "reporting_exports",
        "Reports and exports",
        "account",
        "Balance and payout reconciliation reports, CSV exports, matching payouts to the "
        "transactions they contain and scheduled reports.",
    ),
    TopicSpec(
        "team_permissions",
        "Team members and permissions",
        "account",
        "Inviting teammates, roles and what each can see, transferring account ownership and "
        "removing a former employee.",
    ),
    TopicSpec(
        "statement_descriptor",
        "Statement descriptors",
        "payments",
        "The business name customers see on their card statement, changing it, dynamic suffixes "
        "and customers who don't recognise a charge.",
    ),
    TopicSpec(
        "test_mode",
        "Test mode and sandbox",
        "developers",
        "Test mode versus live mode, test card numbers, why test data doesn't show in live mode "
        "and going live.",
    ),
)

AREAS: dict[str, str] = {
    "payouts": "Payouts",
    "payments": "Payments",
    "disputes": "Disputes and risk",
    "account": "Account and compliance",
    "developers": "Developers",
    "billing": "Billing and pricing",
}

# Topics agents confuse or answer from each other's library entries; also the experts' label noise.
NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "payout_schedule": ("pausing_payouts", "failed_payouts", "instant_payouts", "reserves_holds"),
    "pausing_payouts": ("payout_schedule", "reserves_holds"),
    "failed_payouts": ("bank_account_change", "payout_schedule"),
    "bank_account_change": ("failed_payouts", "account_verification"),
    "instant_payouts": ("payout_schedule", "fees"),
    "refunds": ("disputes", "statement_descriptor"),
    "disputes": ("refunds", "fraud_rules", "statement_descriptor"),
    "account_verification": ("reserves_holds", "bank_account_change"),
    "api_keys": ("test_mode", "webhooks"),
    "webhooks": ("api_keys", "checkout_integration"),
    "fees": ("currency_conversion", "instant_payouts"),
    "currency_conversion": ("fees",),
    "card_declines": ("fraud_rules", "payment_methods"),
    "subscriptions": ("invoices", "card_declines"),
    "invoices": ("subscriptions", "payment_links"),
    "tax_forms": ("reporting_exports", "account_verification"),
    "login_2fa": ("team_permissions",),
    "closing_account": ("reserves_holds", "reporting_exports"),
    "connected_accounts": ("account_verification", "payout_schedule"),
    "payment_methods": ("checkout_integration", "card_declines"),
    "reserves_holds": ("account_verification", "payout_schedule"),
    "fraud_rules": ("card_declines", "disputes"),
    "checkout_integration": ("webhooks", "payment_methods", "test_mode"),
    "payment_links": ("invoices", "checkout_integration"),
    "reporting_exports": ("payout_schedule", "tax_forms"),
    "team_permissions": ("login_2fa",),
    "statement_descriptor": ("disputes", "refunds"),
    "test_mode": ("api_keys", "checkout_integration"),
}

# Case fields the help desk attaches to a case of each topic (from the account and the message);
# answers of a topic may use these as placeholders, plus `customer_name` and `case_id`.
TOPIC_FIELDS: dict[str, tuple[str, ...]] = {
    "payout_schedule": ("payout_id", "payout_date", "amount"),
    "pausing_payouts": (),
    "failed_payouts": ("payout_id", "payout_date", "amount", "last4"),
    "bank_account_change": ("last4",),
    "instant_payouts": ("amount", "last4"),
    "refunds": ("charge_id", "amount"),
    "disputes": ("dispute_id", "charge_id", "amount", "due_date"),
    "account_verification": ("due_date",),
    "api_keys": (),
    "webhooks": ("event_id",),
    "fees": ("charge_id", "amount"),
    "currency_conversion": ("charge_id", "amount"),
    "card_declines": ("charge_id", "last4"),
    "subscriptions": ("subscription_id",),
    "invoices": ("invoice_id", "amount"),
    "tax_forms": ("tax_year",),
    "login_2fa": (),
    "closing_account": (),
    "connected_accounts": ("account_id",),
    "payment_methods": (),
    "reserves_holds": ("amount", "payout_date"),
    "fraud_rules": ("charge_id",),
    "checkout_integration": (),
    "payment_links": (),
    "reporting_exports": ("payout_id",),
    "team_permissions": (),
    "statement_descriptor": ("charge_id",),
    "test_mode": (),
}

ALWAYS_FILLABLE: tuple[str, ...] = ("customer_name", "case_id")
PLACEHOLDERS: frozenset[str] = frozenset(
    {*ALWAYS_FILLABLE, *(name for fields in TOPIC_FIELDS.values() for name in fields)}
)

# Relative volume of each topic among actionable messages (the new topic only after its launch).
TOPIC_WEIGHTS: dict[str, float] = {
    "payout_schedule": 9.0,
    "pausing_payouts": 2.5,
    "failed_payouts": 4.5,
    "bank_account_change": 3.5,
    "instant_payouts": 7.0,
    "refunds": 8.0,
    "disputes": 7.0,
    "account_verification": 6.0,
    "api_keys": 2.5,
    "webhooks": 3.0,
    "fees": 4.5,
    "currency_conversion": 2.5,
    "card_declines": 5.5,
    "subscriptions": 4.0,
    "invoices": 3.0,
    "tax_forms": 1.5,
    "login_2fa": 4.5,
    "closing_account": 1.5,
    "connected_accounts": 2.5,
    "payment_methods": 2.5,
    "reserves_holds": 3.5,
    "fraud_rules": 3.0,
    "checkout_integration": 2.5,
    "payment_links": 2.0,
    "reporting_exports": 2.5,
    "team_permissions": 2.0,
    "statement_descriptor": 2.0,
    "test_mode": 1.5,
}
