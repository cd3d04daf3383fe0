"""Tillwick's answer library: approved answers per topic, plus retired versions and one draft.

The approved answers of a topic are listed in *intent* order: `catalog_messages.MESSAGES[topic][i]`
holds the customer messages that answer `i` replies to. Bodies get the greeting "Hi {customer_name},"
prepended by `body()`. Placeholders are limited to `catalog.PLACEHOLDERS` and, per topic, to the
fields `catalog.TOPIC_FIELDS` gives cases of that topic.
"""

from __future__ import annotations

from typing import NamedTuple


class AnswerSpec(NamedTuple):
    title: str
    paragraphs: tuple[str, ...]


def _a(title: str, *paragraphs: str) -> AnswerSpec:
    return AnswerSpec(title, paragraphs)


def body(spec: AnswerSpec) -> str:
    """The answer's text as stored in the library: greeting line, then the paragraphs."""
    return "Hi {customer_name},\n\n" + "\n\n".join(spec.paragraphs)


# The payout timing answer (payout_schedule, intent 0) is made outdated by the policy change in week 6.
OUTDATED_TOPIC = "payout_schedule"
OUTDATED_INTENT = 0

APPROVED: dict[str, tuple[AnswerSpec, ...]] = {
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
    "account_verification": (
        _a(
            "Why we need to verify your account",
            "Like all payment providers, we're required to verify the identity of the people who own and "
            "run the business. Please upload the requested documents under Settings → Business details "
            "→ Verification before {due_date}.",
            "Until verification is complete you can keep accepting payments, but payouts will be paused "
            "after that date. Most reviews finish within 2 business days of upload.",
        ),
        _a(
            "Verification document rejected",
            "The document was rejected because we couldn't read all four corners of it or it had expired. "
            "Please upload a colour photo or scan of a valid passport, driving licence or national ID "
            "card, with all details clearly visible.",
            "You can upload the new document under Settings → Business details → Verification. Screenshots "
            "and black-and-white copies can't be accepted.",
        ),
    ),
    "api_keys": (
        _a(
            "Finding your API keys",
            "Your API keys are under Developers → API keys. The publishable key (pk_live_...) is safe to "
            "use in your website's code; the secret key (sk_live_...) must stay on your server.",
            "Keys for test mode start with pk_test_ and sk_test_ and only work with test data.",
        ),
        _a(
            "Rolling a compromised secret key",
            "If a secret key may have been exposed, roll it right away under Developers → API keys → ... → "
            "Roll key. You can keep the old key working for up to 7 days so you have time to deploy the "
            "new one.",
            "We also recommend creating restricted keys for third-party tools, so each one only gets the "
            "permissions it needs.",
        ),
    ),
    "webhooks": (
        _a(
            "Webhook signature verification failing",
            "Signature errors almost always mean the webhook secret doesn't match the endpoint, or the "
            "request body was changed before verification (for example parsed as JSON first). Each "
            "endpoint has its own secret (whsec_...) under Developers → Webhooks → your endpoint.",
            "Verify the signature against the raw request body, and make sure your server's clock is "
            "accurate: we reject signatures older than 5 minutes.",
        ),
        _a(
            "Webhook endpoint disabled or missing events",
            "We retry failed webhook deliveries for up to 3 days with exponential backoff. If an endpoint "
            "keeps failing, we disable it and email the account's developers.",
            "You can re-enable the endpoint under Developers → Webhooks and resend past events, such as "
            "{event_id}, from the endpoint's event log. Your endpoint needs to return a 2xx status "
            "within 10 seconds.",
        ),
    ),
    "fees": (
        _a(
            "Tillwick's standard pricing",
            "Our standard pricing for card payments is 2.9% + 30¢ per successful charge, with no setup or "
            "monthly fees. International cards add 1.5%, and currency conversion adds 1%.",
            "Disputes cost $15 each, returned if you win. Standard payouts are free and instant payouts "
            "cost 1% (minimum 50¢). The full list is on the Pricing page of your Dashboard.",
        ),
        _a(
            "Where to see fees for a payment",
            "The fee for each payment is on the payment's page under Payments → your payment → Fees. For "
            "{charge_id}, that's the breakdown of the 2.9% + 30¢ and any international or conversion "
            "fee.",
            "For a monthly total, download the Fees report under Reports → Exports.",
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
    "subscriptions": (
        _a(
            "Cancelling or pausing a subscription",
            "You can cancel a subscription under Billing → Subscriptions → {subscription_id} → Actions → "
            "Cancel. Choose whether it ends immediately or at the end of the current billing period.",
            "If you'd rather pause it, choose Pause payment collection instead: invoices are skipped until "
            "you resume, and the customer keeps their subscription.",
        ),
        _a(
            "Changing a subscription's price",
            "To move a customer to another plan or price, open the subscription and click Update "
            "subscription. By default the change is prorated: the customer gets credit for unused time "
            "on the old price and is charged for the rest of the period on the new one.",
            "You can turn proration off in the same screen if you'd rather the new price start at the "
            "next renewal.",
        ),
        _a(
            "Failed subscription payment",
            "When a renewal payment fails, Tillwick Billing retries it automatically 4 times over 2 weeks "
            "and emails the customer a link to update their card.",
            "You can change the retry schedule and what happens after the last attempt (cancel, mark "
            "unpaid or leave past due) under Settings → Billing → Automatic collection.",
        ),
    ),
    "invoices": (
        _a(
            "Sending an invoice",
            "You can create an invoice under Billing → Invoices → Create invoice. Add the customer and "
            "line items, choose a due date, and click Send: the customer gets an email with a link to pay "
            "by card or bank transfer.",
            "Invoices cost 0.4% per paid invoice on top of the payment fee, and you can turn on automatic "
            "reminders under Settings → Billing → Invoices.",
        ),
        _a(
            "Correcting or voiding an invoice",
            "A finalised invoice can't be edited, but you can void invoice {invoice_id} and send a "
            "corrected one. Open it under Billing → Invoices, click More → Void, then Duplicate to start "
            "the new version.",
            "If the customer paid by another method, use Mark as paid out of band instead, so it stops "
            "sending reminders.",
        ),
    ),
    "tax_forms": (
        _a(
            "When will I get my 1099-K?",
            "Tillwick issues 1099-K forms by January 31 for US accounts that processed payments in the "
            "previous year. You'll find your {tax_year} form under Settings → Documents → Tax forms, and "
            "we'll email you when it's ready.",
            "Please make sure your tax ID and legal name are correct under Settings → Business details "
            "before then.",
        ),
        _a(
            "Correcting a tax form",
            "If the tax ID or name on your {tax_year} form is wrong, update it under Settings → Business "
            "details, then request a corrected form from Settings → Documents → Tax forms → Request "
            "correction.",
            "Corrected forms are issued within 10 business days, and we file the correction with the IRS "
            "for you.",
        ),
    ),
    "login_2fa": (
        _a(
            "Lost access to two-step verification",
            "If you've lost your phone or authenticator app, you can sign in with one of the backup codes "
            "you saved when you set up two-step verification, then set up a new device under Settings → "
            "Security.",
            "If you don't have a backup code, click Can't access your device? on the sign-in page. For "
            "your security we'll verify your identity, which takes 1 to 2 business days.",
        ),
        _a(
            "Resetting your password",
            "You can reset your password from the sign-in page with Forgot your password?. The reset link "
            "is valid for 1 hour; if it doesn't arrive, check your spam folder for an email from "
            "no-reply@tillwick.example.",
            "For your security we'll sign you out of other sessions after the reset.",
        ),
    ),
    "closing_account": (
        _a(
            "How to close your account",
            "You can close your account under Settings → Account → Close account. Before you do, make sure "
            "your balance has been paid out and there are no open disputes or pending refunds.",
            "Once closed, you can't accept payments anymore, but you can still sign in for 7 years to "
            "download reports and tax forms.",
        ),
        _a(
            "Balance and disputes after closing",
            "If there's a remaining balance, we pay it out to your bank account on file before closing. "
            "Disputes can still be opened for up to 120 days after a payment, and we'll contact you by "
            "email if one arrives.",
            "If a dispute is lost after closure, we may ask you to cover the amount.",
        ),
    ),
    "connected_accounts": (
        _a(
            "Onboarding a connected account",
            "Your seller can finish onboarding through the onboarding link you generate with the Account "
            "Links API or from Connected accounts → {account_id} → Share onboarding link. Links expire "
            "after 5 minutes once opened, so generate a fresh one each time.",
            "The Requirements tab on the connected account shows exactly what's still missing.",
        ),
        _a(
            "Connected account payouts",
            "Connected accounts are paid out on their own schedule, which the platform controls under "
            "Connected accounts → {account_id} → Payouts. Platform fees you set are taken before the "
            "funds reach the seller's balance.",
            "If payouts are paused, the account usually has an outstanding verification requirement.",
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
    "reserves_holds": (
        _a(
            "Why is there a reserve on my account?",
            "Our risk team placed a reserve on your account after reviewing your recent activity, such as "
            "a rise in disputes or refunds. With a rolling reserve, 10% of each payment is held for 90 "
            "days and then released automatically.",
            "You can see the reserved amount and release dates under Balances → Reserves.",
        ),
        _a(
            "When will held funds be released?",
            "Held funds of {amount} are scheduled to be released on {payout_date}, after which they're "
            "included in your next payout.",
            "If your situation has changed (for example, you've fulfilled the orders involved), reply with "
            "proof of fulfilment and we'll ask the risk team to review the hold.",
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
    "checkout_integration": (
        _a(
            "Setting up Tillwick Checkout",
            "With Tillwick Checkout you create a Checkout Session on your server, then redirect the "
            "customer to the session's URL. After payment, we redirect them to your success_url.",
            "Don't rely on the redirect to fulfil orders: listen for the checkout.session.completed webhook, "
            "because customers sometimes close the tab before the redirect.",
        ),
        _a(
            "Checkout error: No such price",
            'The error "No such price" means the price ID sent with the Checkout Session doesn\'t exist in '
            "the mode you're using. Prices created in test mode aren't available in live mode, and vice "
            "versa.",
            "Copy the live price ID from Products → your product, and check your server uses the live "
            "secret key.",
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
    "reporting_exports": (
        _a(
            "Reconciling a payout",
            "To see which payments and fees make up payout {payout_id}, open it under Balances → Payouts "
            "and click Export transactions. The CSV lists every charge, refund, dispute and fee included.",
            "For all payouts in a month, use the Payout reconciliation report under Reports → Exports.",
        ),
        _a(
            "Scheduling a report",
            "You can schedule any report under Reports → Exports → Schedule: choose the report, the columns "
            "and how often it should run (daily, weekly or monthly). It's emailed to the people you choose "
            "as a CSV.",
            "Times in reports use the time zone set under Settings → Account.",
        ),
    ),
    "team_permissions": (
        _a(
            "Inviting a team member",
            "You can invite teammates under Settings → Team → Add member. Pick a role: Administrator, "
            "Developer, Analyst (read-only) or Support specialist (can refund and view customers).",
            "The invitation is valid for 10 days, and each person needs their own login with two-step "
            "verification.",
        ),
        _a(
            "Removing a team member or transferring ownership",
            "To remove someone, open Settings → Team, click ... next to their name and choose Remove. "
            "Their access ends immediately.",
            "To transfer ownership, the current owner can make another Administrator the owner under "
            "Settings → Team → Transfer ownership. If the owner has left the company, reply here and we'll "
            "guide you through verification.",
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
    "test_mode": (
        _a(
            "Using test mode",
            "Test mode lets you try payments without moving real money. Turn it on with the Test mode "
            "toggle at the top of the Dashboard and use test card 4242 4242 4242 4242 with any future "
            "expiry date and any CVC.",
            "Test data never appears in live mode, and live data never appears in test mode.",
        ),
        _a(
            "Going live",
            "To go live, complete your business details under Settings → Business details, then swap your "
            "test keys for live keys (pk_live_ and sk_live_) in your integration.",
            "Remember to recreate your products, prices and webhook endpoints in live mode; they aren't "
            "copied from test mode.",
        ),
    ),
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
