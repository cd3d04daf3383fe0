"""Customer message templates for the account, developer and billing areas (see `catalog_messages`)."""

from __future__ import annotations

MESSAGES_ACCOUNT: dict[str, tuple[tuple[str, ...], ...]] = {
    "account_verification": (
        (
            "Why do you need my ID? I've been using Tillwick for a year.",
            "Got an email saying I need to verify my account by {due_date} or payouts stop. Is this legit?",
            "what documents do you need to verify my business",
            "The banner says additional verification required. What exactly do I have to upload?",
            "Will I still be able to take payments while my verification is pending?",
        ),
        (
            "My passport was rejected. It's valid until 2031, so why?",
            "I uploaded my driving licence twice and both times it was rejected.",
            "verification document rejected, photo was clear",
            "Can I upload a screenshot of my ID instead of a photo?",
        ),
    ),
    "api_keys": (
        (
            "Where do I find my API keys?",
            "Our developer is asking for the secret key. Where is it in the Dashboard?",
            "what's the difference between the publishable key and the secret key",
            "I'm getting 'Invalid API Key provided'. I copied it from the Dashboard. What am I doing wrong?",
        ),
        (
            "I accidentally pushed our secret key to a public GitHub repo. What should I do?",
            "How do I roll an API key without breaking the live site?",
            "need to revoke a key a former contractor had",
            "Can I create a key that only has access to read payments for our accounting tool?",
        ),
    ),
    "webhooks": (
        (
            "Webhook signature verification keeps failing on our server. We're using the secret from the "
            "Dashboard.",
            "Getting 'No signatures found matching the expected signature for payload'. Any idea?",
            "webhooks fail signature check only in production, fine locally",
            "Our endpoint returns 400 on every event because the signature check fails. Help?",
        ),
        (
            "We stopped receiving webhooks since yesterday. Did something change?",
            "Got an email that our webhook endpoint was disabled. How do we turn it back on?",
            "can I resend event {event_id}? our server was down",
            "Our server was down for 2 hours. Will the missed webhook events be resent?",
        ),
    ),
    "fees": (
        (
            "What are your fees for card payments?",
            "How much does Tillwick charge per transaction? We're comparing providers.",
            "Is there a monthly fee or only per-transaction?",
            "do international cards cost more",
            "We're a nonprofit, {business}. What would our pricing be for card donations?",
        ),
        (
            "Why was I charged a fee of more than 3% on {charge_id}?",
            "Where can I see how much in fees I paid last month?",
            "The amount I received for {amount} is less than expected. Where do I see the fee breakdown?",
            "fee on {charge_id} looks wrong",
        ),
    ),
    "subscriptions": (
        (
            "How do I cancel a customer's subscription {subscription_id}?",
            "A customer asked to pause their membership for two months. Can I do that without cancelling?",
            "cancel subscription at end of period instead of now?",
            "Our customer wants to stop their plan but keep access until the end of the month they paid for.",
        ),
        (
            "How do I upgrade a customer to a higher plan mid-month?",
            "If I change the price on {subscription_id}, will the customer be charged the difference?",
            "turn off proration when changing plans",
            "Customer wants to switch from monthly to annual billing. How does that work?",
        ),
        (
            "Renewal payment for {subscription_id} failed. Will it retry?",
            "What happens when a subscription payment fails?",
            "Can I change how many times you retry a failed subscription payment?",
        ),
    ),
    "invoices": (
        (
            "How do I send an invoice to a client?",
            "Can I invoice a customer and let them pay by bank transfer?",
            "Is there a fee to use invoices?",
            "want to send reminders automatically when an invoice is overdue",
            "Our clients at {business} need invoices with a due date of 30 days. Can Tillwick do that?",
        ),
        (
            "I made a mistake on invoice {invoice_id}. How do I edit it?",
            "Customer paid invoice {invoice_id} by cheque. How do I stop the reminders?",
            "void an invoice?",
            "Sent an invoice for {amount} but the amount should have been different. Can I fix it?",
        ),
    ),
    "tax_forms": (
        (
            "When will my 1099-K for {tax_year} be available?",
            "Where can I download my tax form?",
            "do I get a 1099 from Tillwick",
            "My accountant needs last year's 1099-K. Where do I find it?",
        ),
        (
            "The tax ID on my {tax_year} 1099-K is wrong. How do I get it corrected?",
            "My 1099-K has my old business name. Can you reissue it?",
            "tax form has wrong name, need corrected version",
            "The amounts on my 1099-K don't match my records. Why?",
        ),
    ),
    "login_2fa": (
        (
            "I got a new phone and lost my authenticator app. How do I log in?",
            "I'm locked out because I can't get the two-step verification code.",
            "lost my backup codes and my phone, what now",
            "Changed phone numbers and now I can't receive the login code. Please help, I can't access "
            "anything.",
        ),
        (
            "I forgot my password and the reset email never arrives.",
            "How do I reset my password?",
            "reset link expired",
            "Password reset isn't working for {business}'s account.",
        ),
    ),
    "closing_account": (
        (
            "How do I close my Tillwick account?",
            "We're shutting down {business} at the end of the month. What do I need to do to close the "
            "account?",
            "delete my account please",
            "I want to close my account. Is there anything I should do first?",
        ),
        (
            "If I close my account, what happens to my remaining balance?",
            "Can a customer still dispute a payment after I close my account?",
            "Will I still be able to download my reports after closing?",
            "what happens to open disputes if I close",
        ),
    ),
    "connected_accounts": (
        (
            "One of our sellers ({account_id}) says the onboarding link doesn't work.",
            "How do I send a new onboarding link to a connected account?",
            "connected account stuck on 'restricted', what's missing?",
            "Seller says the onboarding link expired immediately. Why?",
        ),
        (
            "How do payouts to our connected accounts work?",
            "Connected account {account_id} hasn't been paid out. Can you check?",
            "Can we set a different payout schedule per seller?",
            "when do platform fees get deducted",
        ),
    ),
    "reserves_holds": (
        (
            "Why is there a reserve on my account? Nobody told me.",
            "My available balance is way lower than my sales. What is this rolling reserve?",
            "10% of my payments are being held, why",
            "I got an email about a reserve being placed on {business}. What does it mean for my payouts?",
        ),
        (
            "When will the {amount} that's on hold be released?",
            "You're holding my funds. When do I get them back?",
            "held funds release date?",
            "We've shipped all the orders now. Can the hold on our funds be lifted early?",
        ),
    ),
    "checkout_integration": (
        (
            "How do I integrate Tillwick Checkout into my website?",
            "After payment the customer is redirected to my success page but sometimes the order isn't "
            "created. Why?",
            "checkout redirect not working after payment",
            "What's the best way to know a Checkout payment succeeded?",
        ),
        (
            "Getting 'No such price' when creating a checkout session.",
            "Checkout worked in test mode but fails in live mode with a missing price error.",
            "error no such price: price_ ... help",
            "Our live checkout broke right after launch. The error mentions the price ID.",
        ),
    ),
    "reporting_exports": (
        (
            "How do I see which transactions were in payout {payout_id}?",
            "Our bookkeeper needs to reconcile payouts with orders. Is there a report for that?",
            "payout {payout_id} doesn't match my sales total, how do I break it down",
            "export transactions included in a payout",
        ),
        (
            "Can I get a report emailed to me every week?",
            "How do I schedule an automatic export?",
            "monthly report to my accountant automatically?",
            "The times in my export are off by a few hours. Which time zone do reports use?",
        ),
    ),
    "team_permissions": (
        (
            "How do I add my bookkeeper so she can see payments but not change anything?",
            "Can I invite a team member?",
            "what roles are there for team members",
            "Our support staff need to issue refunds. What permission do they need?",
        ),
        (
            "An employee left. How do I remove their access?",
            "How do I transfer ownership of the account to my business partner?",
            "the account owner left the company, how do we get control",
            "remove former employee from dashboard",
        ),
    ),
    "test_mode": (
        (
            "How do I test payments without a real card?",
            "What test card numbers can I use?",
            "test payments not showing in my dashboard",
            "Is there a sandbox for trying things out?",
        ),
        (
            "How do I go live?",
            "We're ready to launch. What do I need to switch from test to live?",
            "my products disappeared when I switched to live mode",
            "Do my webhooks carry over from test mode to live?",
        ),
    ),
}
