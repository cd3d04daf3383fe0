"""Approved answers for the account, developer and billing areas (see `catalog_answers`)."""

from __future__ import annotations

from supportcue.demo.catalog import AnswerSpec
from supportcue.demo.catalog import answer as _a

APPROVED_ACCOUNT: dict[str, tuple[AnswerSpec, ...]] = {
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
