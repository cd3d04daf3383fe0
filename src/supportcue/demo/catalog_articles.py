"""Tillwick's help-centre articles: the knowledge base the LLM response mode may quote.

`ARTICLES[topic]` holds (title, paragraphs) pairs; every topic has at least one and every topic area
(`catalog.AREAS`) several.
"""

from __future__ import annotations

ARTICLES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "payout_schedule": (
        (
            "How payouts work",
            (
                "Tillwick moves the money from your payments into your bank account with payouts. Card "
                "payments "
                "first become available in your Tillwick balance 2 business days after the charge; the "
                "payout "
                "then travels to your bank.",
                "You choose an automatic schedule (daily, weekly or monthly) under Settings → Payouts. Each "
                "payout's status and expected arrival date are on Balances → Payouts: Pending, In transit, "
                "Paid or Failed.",
                "Your first payout is sent 7 days after your first successful payment, while we complete the "
                "checks on new accounts. Weekends and bank holidays don't count as business days.",
            ),
        ),
        (
            "Payout timing update, October 2026",
            (
                "From October 12, 2026, standard payouts in the US, UK and EU arrive the next business day "
                "after funds become available, instead of 2 business days.",
                "Nothing changes in your settings: your schedule, the first-payout delay and the time card "
                "payments take to become available stay the same.",
            ),
        ),
    ),
    "pausing_payouts": (
        (
            "Pause payouts or switch to manual payouts",
            (
                "If you'd like to keep funds in your Tillwick balance, set the payout schedule to Manual "
                "under "
                "Settings → Payouts. Automatic payouts stop until you choose a schedule again.",
                "With manual payouts, click Pay out funds on the Balances page whenever you want to send "
                "money "
                "to your bank. Funds can remain in your balance for up to 90 days; after that we pay them "
                "out "
                "automatically.",
            ),
        ),
    ),
    "failed_payouts": (
        (
            "What to do when a payout fails",
            (
                "A payout fails when the receiving bank rejects or returns it. The most common reasons are a "
                "closed account, an incorrect account or routing number, or an account holder name that "
                "doesn't match the business.",
                "Returned funds are added back to your Tillwick balance within 5 to 10 business days. We "
                "pause "
                "payouts until you update your bank details, then retry with the next scheduled payout.",
            ),
        ),
    ),
    "bank_account_change": (
        (
            "Add or change your payout bank account",
            (
                "Go to Settings → Payouts → Bank accounts and click Add bank account. After confirming with "
                "two-step verification, set the account as the default for its currency.",
                "To protect you from account takeover, payouts to a newly added account are held for 3 "
                "business days and the account owner receives an email confirmation.",
                "The account must be in the name of the business or, for sole traders, the owner. Accounts "
                "that only accept paper cheques can't receive payouts.",
            ),
        ),
    ),
    "instant_payouts": (
        (
            "Instant payouts to debit cards",
            (
                "Instant payouts, launched in October 2026, send funds from your available balance to an "
                "eligible debit card in about 30 minutes, any time of day, including weekends and holidays.",
                "The fee is 1% of the payout amount, with a minimum of 50¢. You can send up to $10,000 per "
                "payout and $50,000 per day.",
                "Accounts become eligible after 30 days of activity with standard payouts that weren't "
                "returned. Prepaid cards and credit cards aren't supported.",
            ),
        ),
    ),
    "refunds": (
        (
            "Refund a payment",
            (
                "Open the payment under Payments and click Refund. You can refund the full amount or a part "
                "of "
                "it, and issue several partial refunds up to the original amount, within 180 days of the "
                "charge.",
                "Refunds take 5 to 10 business days to reach the cardholder. The original processing fee "
                "isn't "
                "returned. If your balance is too low, the refund stays Pending until new payments cover it.",
            ),
        ),
        (
            "Tracing a refund with the ARN",
            (
                "Every card refund gets an acquirer reference number (ARN) once it's sent to the card "
                "network. "
                "You'll find it on the payment page a day or two after the refund.",
                "If a customer can't see a refund after 10 business days, share the ARN with them: their "
                "bank "
                "can use it to locate the refund.",
            ),
        ),
    ),
    "disputes": (
        (
            "Understanding disputes",
            (
                "A dispute (chargeback) happens when a cardholder asks their bank to reverse a payment. The "
                "disputed amount and a $15 fee are withdrawn from your balance while the bank reviews it.",
                "You can accept the dispute or respond with evidence under Payments → Disputes before the "
                "due "
                "date shown. Card issuers usually decide within 60 to 75 days.",
                "If you win, the amount and the $15 fee are returned to your balance.",
            ),
        ),
        (
            "Evidence that wins disputes",
            (
                "Match your evidence to the dispute reason. For products not received, include tracking and "
                "proof of delivery. For fraud claims, show the billing address check, the customer's IP and "
                "their order history.",
                "Keep the summary short and factual. Evidence can be submitted only once.",
            ),
        ),
    ),
    "account_verification": (
        (
            "Why Tillwick verifies your identity",
            (
                "Financial regulations require us to know who owns and controls every business we work with. "
                "We may ask for verification when you sign up, when you reach certain volumes, or when "
                "details "
                "change.",
                "Upload documents under Settings → Business details → Verification. We accept colour photos "
                "or "
                "scans of a valid passport, driving licence or national ID card; screenshots aren't "
                "accepted.",
                "Most reviews finish within 2 business days. If the deadline passes, payouts are paused "
                "until "
                "verification is complete.",
            ),
        ),
    ),
    "api_keys": (
        (
            "API keys",
            (
                "Each account has publishable keys (pk_) for client-side code and secret keys (sk_) for your "
                "server, in separate test and live versions. Find them under Developers → API keys.",
                "Never share secret keys or put them in client-side code or public repositories. If a key is "
                "exposed, roll it immediately; you can keep the old key active for up to 7 days.",
                "Restricted keys limit what a key can do, which is recommended for third-party tools.",
            ),
        ),
    ),
    "webhooks": (
        (
            "Receiving webhooks reliably",
            (
                "Webhooks notify your server about events such as successful payments. Each endpoint has a "
                "signing secret (whsec_) used to verify that requests come from Tillwick.",
                "Verify signatures against the raw request body and respond with a 2xx status within 10 "
                "seconds. We retry failed deliveries for up to 3 days with exponential backoff.",
                "Endpoints that keep failing are disabled, and developers on the account get an email. You "
                "can "
                "re-enable them and resend events from the endpoint's event log.",
            ),
        ),
    ),
    "fees": (
        (
            "Tillwick pricing",
            (
                "Card payments cost 2.9% + 30¢ per successful charge. International cards add 1.5% and "
                "currency conversion adds 1%. There are no setup, monthly or closure fees.",
                "Disputes cost $15, returned if you win. Invoices cost 0.4% per paid invoice, and instant "
                "payouts cost 1% (minimum 50¢). Standard payouts are free.",
                "You can see the fees of each payment on its page and download monthly totals from Reports → "
                "Exports.",
            ),
        ),
    ),
    "currency_conversion": (
        (
            "Charging and settling in multiple currencies",
            (
                "You can charge customers in more than 100 currencies. Payments in a currency you don't "
                "settle "
                "in are converted at the rate at the time of the charge, plus 1%.",
                "To settle without conversion, add a bank account in that currency. Tillwick currently pays "
                "out in USD, EUR, GBP, CAD and AUD.",
            ),
        ),
    ),
    "card_declines": (
        (
            "Why payments are declined",
            (
                "Most declines come from the customer's card issuer, which often gives only a generic reason "
                "such as generic_decline or do_not_honor. The customer should contact their bank.",
                "Payments blocked by Tillwick Shield show Blocked and a risk reason instead. You can allow "
                "trusted customers with an allow list.",
                "Avoid retrying a declined card many times: issuers may treat repeated attempts as fraud.",
            ),
        ),
    ),
    "subscriptions": (
        (
            "Managing subscriptions in Tillwick Billing",
            (
                "Subscriptions charge customers on a recurring schedule. From a subscription's page you can "
                "change the price, pause payment collection or cancel immediately or at period end.",
                "Price changes are prorated by default. When a renewal fails, we retry 4 times over 2 weeks "
                "and email the customer; you control the retries under Settings → Billing.",
            ),
        ),
    ),
    "invoices": (
        (
            "Sending and managing invoices",
            (
                "Create invoices under Billing → Invoices with line items and a due date. Customers pay by "
                "card "
                "or bank transfer from the link in the email. Invoices cost 0.4% per paid invoice.",
                "Finalised invoices can't be edited: void and duplicate them instead. If a customer pays "
                "outside Tillwick, mark the invoice as paid out of band to stop reminders.",
            ),
        ),
    ),
    "tax_forms": (
        (
            "1099-K tax forms",
            (
                "US accounts receive a 1099-K for each year in which they processed payments. Forms are "
                "issued "
                "by January 31 and are available under Settings → Documents → Tax forms.",
                "The form reports gross payment volume, before refunds and fees, so it won't match your net "
                "payouts. If your tax ID or legal name is wrong, update it and request a correction.",
            ),
        ),
    ),
    "login_2fa": (
        (
            "Two-step verification and account recovery",
            (
                "Every Dashboard user signs in with a password and a second step: an authenticator app, a "
                "security key or SMS. Save your backup codes somewhere safe when you set it up.",
                "If you lose your device and your backup codes, use Can't access your device? on the sign-in "
                "page. We verify your identity before removing two-step verification, which takes 1 to 2 "
                "business days.",
            ),
        ),
    ),
    "closing_account": (
        (
            "Closing your Tillwick account",
            (
                "You can close your account under Settings → Account → Close account once your balance is "
                "paid "
                "out and no disputes or refunds are pending.",
                "After closure you can't accept payments, but you can sign in to download reports and tax "
                "forms. Customers can still dispute payments for up to 120 days.",
            ),
        ),
    ),
    "connected_accounts": (
        (
            "Onboarding connected accounts",
            (
                "Platforms onboard sellers as connected accounts with hosted onboarding links. Links are "
                "single "
                "use and expire shortly after they're opened, so create a new one each time.",
                "The Requirements tab shows what's missing. Accounts with overdue requirements may have "
                "payments or payouts paused until they provide it.",
            ),
        ),
        (
            "Paying out connected accounts",
            (
                "Platforms set each connected account's payout schedule and the platform fee taken from each "
                "payment. Fees are deducted before funds reach the seller's balance.",
                "Payouts for connected accounts follow the same timing rules as standard payouts.",
            ),
        ),
    ),
    "payment_methods": (
        (
            "Choosing payment methods",
            (
                "Turn payment methods on under Settings → Payment methods. Checkout and payment links show "
                "each customer the methods that match their country, currency and the amount.",
                "Apple Pay requires a verified domain. Bank debits require a mandate. Buy-now-pay-later is "
                "shown for amounts between $50 and $2,000.",
            ),
        ),
    ),
    "reserves_holds": (
        (
            "Reserves and held funds",
            (
                "A reserve holds part of your balance to cover potential refunds and disputes. With a "
                "rolling "
                "reserve, a percentage of each payment is held for a fixed period and released "
                "automatically.",
                "Reserves are set after a risk review, for example when disputes increase or you take "
                "payments "
                "far in advance of delivery. Balances → Reserves shows the amounts and release dates.",
            ),
        ),
    ),
    "fraud_rules": (
        (
            "Tillwick Shield rules",
            (
                "Tillwick Shield scores every payment for fraud risk from 0 to 100 and blocks the riskiest "
                "ones "
                "automatically. You can add rules to block, review or allow payments based on attributes "
                "like "
                "amount, card country or IP country.",
                "Payments placed in review are captured but appear in Shield → Review queue until you "
                "approve "
                "or refund them. Refunding a suspicious payment avoids the dispute fee.",
            ),
        ),
    ),
    "checkout_integration": (
        (
            "Accept payments with Tillwick Checkout",
            (
                "Create a Checkout Session on your server with the prices and a success_url, then redirect "
                "the "
                "customer to the session URL. Tillwick hosts the payment page.",
                "Fulfil orders from the checkout.session.completed webhook rather than the redirect. Test "
                "and "
                "live mode have separate products and prices, so IDs from one don't work in the other.",
            ),
        ),
    ),
    "payment_links": (
        (
            "Payment links",
            (
                "Payment links let you get paid without a website. Create one under Payment links, choose a "
                "product or a customer-chosen amount, and share the URL anywhere.",
                "You can deactivate a link at any time and reactivate it later. Payments made through a link "
                "appear under Payments like any other.",
            ),
        ),
    ),
    "reporting_exports": (
        (
            "Reconcile payouts with reports",
            (
                "Each payout is a bundle of charges, refunds, disputes and fees. Export a payout's "
                "transactions "
                "from its page to match it with your bank statement.",
                "The Payout reconciliation report under Reports → Exports covers a whole period. Reports "
                "can be "
                "scheduled and emailed as CSV files.",
            ),
        ),
    ),
    "team_permissions": (
        (
            "Team roles and permissions",
            (
                "Invite teammates under Settings → Team. Administrators can do everything; Developers manage "
                "API keys and webhooks; Analysts have read-only access; Support specialists can view "
                "customers "
                "and issue refunds.",
                "Only the account owner can transfer ownership. If the owner has left and can't sign in, "
                "contact support to verify who controls the business.",
            ),
        ),
    ),
    "statement_descriptor": (
        (
            "Statement descriptors",
            (
                "The statement descriptor is the text on your customers' card statements. It must be 5 to 22 "
                "characters and clearly identify your business.",
                "Unrecognised charges are a common reason for disputes. Adding a dynamic suffix, like an "
                "order "
                "number, helps customers match the charge to their purchase.",
            ),
        ),
    ),
    "test_mode": (
        (
            "Test mode",
            (
                "Test mode lets you build and try your integration without moving money. Use the test card "
                "4242 4242 4242 4242 with any future expiry date and any CVC.",
                "Test and live data are separate: products, prices, customers and webhook endpoints must be "
                "created again in live mode when you go live.",
            ),
        ),
    ),
}
