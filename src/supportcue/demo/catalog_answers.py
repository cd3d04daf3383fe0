"""Tillwick's answer library: approved answers per topic, plus retired versions and one draft.

The money-movement areas (payouts, payments, disputes) are here, the others in
`catalog_answers_account`.

The approved answers of a topic are listed in *intent* order: `catalog_messages.MESSAGES[topic][i]`
holds the customer messages that answer `i` replies to. Bodies get the greeting "Hi {customer_name},"
prepended by `body()`. Placeholders are limited to `catalog.PLACEHOLDERS` and, per topic, to the
fields `catalog.TOPIC_FIELDS` gives cases of that topic.
"""

from __future__ import annotations

from supportcue.demo.catalog import TOPICS, AnswerSpec
from supportcue.demo.catalog import answer as _a
from supportcue.demo.catalog_answers_account import APPROVED_ACCOUNT

# The payout timing answer (payout_schedule, intent 0) is made outdated by the policy change in week 6.
OUTDATED_TOPIC = "payout_schedule"
OUTDATED_INTENT = 0

_APPROVED_MONEY: dict[str, tuple[AnswerSpec, ...]] = {
    "payout_schedule": (
        _a(
            "When will my payout arrive?",
            "Standard payouts arrive in your bank account 2 business days after the funds become available "
            "in your Tillwick balance. Card payments become available 2 business days after the charge, "
            "so a payment taken on Monday is usually in your bank on Thursday.",
            "You can see the expected arrival date of every payout under Balances → Payouts. Weekends and "
            "bank holidays are not business days, so payouts initiated on a Friday arrive the following "
            "Tuesday.",
            "Let me know if a payout is later than the date shown there and I'll look into it.",
        ),
        _a(
            "Changing the payout schedule",
            "You can choose daily, weekly or monthly automatic payouts under Settings → Payouts → Payout "
            "schedule. Weekly payouts go out on the weekday you pick; monthly payouts on the day of the "
            "month you pick (the 29th to 31st are moved to the last day of shorter months).",
            "The new schedule applies from the next payout; anything already in transit isn't affected.",
        ),
        _a(
            "First payout takes longer",
            "Your first payout is sent 7 days after your first successful payment. This one-time delay "
            "lets our team complete the standard checks on new accounts.",
            "After the first payout you'll be on the regular schedule shown under Settings → Payouts, "
            "and you don't need to do anything to move onto it.",
        ),
    ),
    "pausing_payouts": (
        _a(
            "How to pause payouts",
            "To pause payouts, go to Settings → Payouts → Payout schedule and choose Manual. Tillwick then "
            "stops sending automatic payouts and your funds stay in your Tillwick balance.",
            "When you want the money, click Pay out funds on the Balances page, or switch back to an "
            "automatic schedule. Funds in your balance can still be used for refunds and dispute "
            "withdrawals in the meantime.",
        ),
        _a(
            "Resuming payouts",
            "To resume automatic payouts, go to Settings → Payouts → Payout schedule and pick daily, weekly "
            "or monthly again. Your available balance is included in the next scheduled payout.",
            "If payouts were paused by our team rather than by you, you'll see a banner on the Home page "
            "explaining what we need from you before we can release them.",
        ),
    ),
    "failed_payouts": (
        _a(
            "Why did my payout fail?",
            "Payout {payout_id} was returned by your bank, which usually means the account is closed, "
            "the account or routing number is wrong, or the account holder name doesn't match your "
            "business name. Banks don't always tell us which one, so the bank is the best place to "
            "confirm.",
            "The funds come back to your Tillwick balance within 5 to 10 business days, and we pause "
            "payouts until the bank details are updated under Settings → Payouts → Bank accounts.",
        ),
        _a(
            "Retrying a failed payout",
            "Once you've updated your bank account under Settings → Payouts → Bank accounts, we'll retry "
            "automatically with your next scheduled payout. Returned funds, including the {amount} from "
            "the failed payout, are added back to your balance first.",
            "If you'd like the money sooner, you can click Pay out funds on the Balances page once the new "
            "account shows as Verified.",
        ),
    ),
    "bank_account_change": (
        _a(
            "Changing your payout bank account",
            "You can add a new bank account under Settings → Payouts → Bank accounts → Add bank account, "
            "then set it as the default for payouts. You'll be asked to confirm with your two-step "
            "verification code.",
            "For your security, payouts to a newly added account are held for 3 business days after the "
            "change, and we'll email the account owner to confirm it.",
        ),
        _a(
            "Bank account verification failed",
            "We couldn't verify the account ending in {last4}. This usually happens when the account "
            "holder name doesn't match the legal name on your Tillwick account, or the account doesn't "
            "accept electronic credits.",
            "Please check the details with your bank and add the account again under Settings → Payouts "
            "→ Bank accounts. If it's a business account, make sure it's in the business's name.",
        ),
    ),
    "instant_payouts": (
        _a(
            "Instant payouts to a debit card",
            "Instant payouts send money from your available balance to an eligible debit card within "
            "about 30 minutes, 24/7, including weekends and holidays. The fee is 1% of the payout amount "
            "(minimum 50¢).",
            "To use them, add a debit card under Settings → Payouts → Instant payouts, then click Pay out "
            "instantly on the Balances page. You can send up to $10,000 per payout and $50,000 per day.",
        ),
        _a(
            "Instant payout not available",
            "Instant payouts are available once your account has been active for 30 days and has had "
            "standard payouts without returns. The debit card ending in {last4} also has to support "
            "instant transfers; most Visa and Mastercard debit cards do, prepaid cards don't.",
            "If the Pay out instantly button is greyed out, hover over it to see the reason. Your "
            "standard payouts continue as usual in the meantime.",
        ),
    ),
    "refunds": (
        _a(
            "How to refund a payment",
            "To refund a payment, open it under Payments, click Refund, and choose the full amount or "
            "enter a partial amount. You can refund a payment up to 180 days after the charge.",
            "Refunds reach the customer's card in 5 to 10 business days, depending on their bank. The "
            "original processing fee isn't returned, and there's no extra fee for the refund.",
        ),
        _a(
            "Refund is taking a long time",
            "Refund of {amount} on {charge_id} was sent to the customer's bank and is marked Succeeded, "
            "so it's now with the card issuer. Refunds take 5 to 10 business days to appear on the "
            "customer's statement.",
            "If the customer can't see it after that, you can share the refund's reference number (ARN) "
            "from the payment page. Their bank can use it to trace the refund.",
        ),
        _a(
            "Refund pending: insufficient balance",
            "A refund stays Pending when your Tillwick balance is lower than the refund amount. It's "
            "processed automatically as soon as new payments bring the balance up.",
            "To send it right away, you can top up your balance under Balances → Add funds by bank "
            "transfer, which usually arrives within 1 business day.",
        ),
    ),
    "disputes": (
        _a(
            "A customer disputed a payment",
            "Your customer's bank has opened dispute {dispute_id} on {charge_id}, so the {amount} and a "
            "$15 dispute fee have been taken from your balance while it's reviewed.",
            "You can respond under Payments → Disputes before {due_date}: upload evidence such as the "
            "receipt, proof of delivery and any messages with the customer. If the bank decides in your "
            "favour, the amount and the $15 fee are returned.",
        ),
        _a(
            "What evidence should I submit?",
            'The strongest evidence depends on the dispute reason. For "product not received", include '
            'the tracking number and proof of delivery; for "fraudulent", include the customer\'s '
            "billing address match, their IP address and any previous undisputed orders.",
            "Keep it concise: a short summary plus the documents. You can only submit once, so make sure "
            "everything is attached before you click Submit evidence.",
        ),
        _a(
            "How long does a dispute take?",
            "After you submit evidence, the card issuer usually decides within 60 to 75 days. We'll email "
            "you and update the dispute under Payments → Disputes as soon as we hear back.",
            "There's nothing more you need to do while it's under review.",
        ),
    ),
    "currency_conversion": (
        _a(
            "How currency conversion works",
            "When you charge in a currency other than your settlement currency, we convert it at the "
            "exchange rate at the time of the charge plus a 1% conversion fee. Refunds are converted at "
            "the rate on the day of the refund, so the amount can differ slightly.",
            "You can see the rate used for {charge_id} on the payment's page under Fees.",
        ),
        _a(
            "Settling in more than one currency",
            "To avoid conversion, you can add a bank account in another currency under Settings → Payouts "
            "→ Bank accounts. Payments in that currency are then paid out to it without conversion.",
            "We currently support payouts in USD, EUR, GBP, CAD and AUD.",
        ),
    ),
    "card_declines": (
        _a(
            "Why was the card declined?",
            "The payment {charge_id} was declined by the customer's bank (the card issuer), not by "
            "Tillwick. Issuers often don't share the exact reason; the most common ones are insufficient "
            "funds, a suspected fraud check or a card that isn't enabled for online payments.",
            "The best next step is for your customer to call the number on the back of the card ending in "
            "{last4}, then try again. Retrying several times in a row can make the bank block the card.",
        ),
        _a(
            "Payment blocked by Tillwick Shield",
            "This payment was blocked by Tillwick Shield because it had a high risk score, rather than "
            "declined by the bank. You can see the reason under Payments → the payment → Risk insights.",
            "If you know the customer, you can add their email or card to your allow list under Shield → "
            "Lists, and they'll be able to pay on their next attempt.",
        ),
    ),
    "payment_methods": (
        _a(
            "Turning on a payment method",
            "You can turn on wallets, bank debits and other payment methods under Settings → Payment "
            "methods. Tillwick Checkout and payment links show eligible methods automatically based on "
            "the customer's location and currency.",
            "Some methods need extra steps: Apple Pay needs your domain verified, and bank debits need a "
            "mandate from the customer.",
        ),
        _a(
            "Payment method not showing at checkout",
            "A payment method only appears when the currency, amount and customer's country are supported. "
            "For example, bank debits only appear for USD payments from US customers, and buy-now-pay-later "
            "for amounts between $50 and $2,000.",
            "You can test what a customer will see with the preview under Settings → Payment methods → "
            "Review checkout.",
        ),
    ),
    "fraud_rules": (
        _a(
            "Creating a Tillwick Shield rule",
            'You can add custom rules under Shield → Rules → Add rule, for example "Block if :risk_score: '
            '> 80" or "Review if :card_country: != :ip_country:". Rules apply to new payments as soon as '
            "you save them.",
            "Use the rule preview to see how many of last month's payments it would have matched before you "
            "turn it on.",
        ),
        _a(
            "Reviewing a flagged payment",
            "Payment {charge_id} was placed in review by Tillwick Shield. You can approve or refund it under "
            "Shield → Review queue; until you approve, it's captured but marked for review.",
            "If it looks fraudulent, refund it rather than waiting for a dispute: a refund avoids the $15 "
            "dispute fee.",
        ),
    ),
    "payment_links": (
        _a(
            "Creating a payment link",
            "You can create a payment link without code under Payment links → New: choose a product or set "
            "a custom amount, then copy the link and share it by email, text or social media.",
            "Each payment appears under Payments, and you can let customers adjust the quantity or enter "
            "their own amount (useful for donations).",
        ),
        _a(
            "Deactivating a payment link",
            "To stop accepting payments on a link, open it under Payment links and click Deactivate. "
            "Anyone who opens it afterwards sees a message that it's no longer available.",
            "Existing payments aren't affected, and you can reactivate the link at any time.",
        ),
    ),
    "statement_descriptor": (
        _a(
            "Changing your statement descriptor",
            "Your statement descriptor is what customers see on their card statement. You can change it "
            "under Settings → Business details → Public details; it must be 5 to 22 characters and "
            "recognisable as your business.",
            "Changes apply to new payments only.",
        ),
        _a(
            "Customer doesn't recognise a charge",
            "Charge {charge_id} appears on your customer's statement as your statement descriptor. When "
            "customers don't recognise it, they sometimes dispute it, so a clear descriptor helps.",
            "You can add a dynamic suffix, such as an order number, so the charge is easier to match.",
        ),
    ),
}
APPROVED: dict[str, tuple[AnswerSpec, ...]] = {
    t.key: {**_APPROVED_MONEY, **APPROVED_ACCOUNT}[t.key] for t in TOPICS
}

# Older versions retired from the library (kept for history; agents no longer send them).
RETIRED: tuple[tuple[str, AnswerSpec], ...] = (
    (
        "refunds",
        _a(
            "How to refund a payment (90-day window)",
            "You can refund a payment under Payments → Refund up to 90 days after the charge.",
            "Refunds take 5 to 10 business days to reach the customer.",
        ),
    ),
    (
        "disputes",
        _a(
            "Dispute fee ($20)",
            "A $20 dispute fee is charged for each dispute and isn't returned if you win.",
        ),
    ),
    (
        "fees",
        _a(
            "Standard pricing (2024)",
            "Card payments cost 2.9% + 30¢, and international cards add 1%.",
            "Currency conversion costs 2%.",
        ),
    ),
    (
        "login_2fa",
        _a(
            "Two-step verification by SMS",
            "We send a six-digit code by SMS each time you sign in. If you've changed your number, "
            "reply with a photo of your ID and we'll update it.",
        ),
    ),
    (
        "webhooks",
        _a(
            "Webhook retries (24 hours)",
            "We retry failed webhook deliveries for 24 hours, then disable the endpoint.",
        ),
    ),
)

# The library's proposed replacement for the outdated answer, awaiting review after the policy change.
DRAFT_OUTDATED_REPLACEMENT = _a(
    "When will my payout arrive? (next-day payouts)",
    "Since October 12, standard payouts arrive in your bank account the next business day after the funds "
    "become available in your Tillwick balance. Card payments still become available 2 business days "
    "after the charge, so a payment taken on Monday is usually in your bank on Wednesday.",
    "You can see the expected arrival date of every payout under Balances → Payouts.",
    "Let me know if a payout is later than the date shown there and I'll look into it.",
)
