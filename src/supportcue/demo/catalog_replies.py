"""The words around the templates: customers' tone and sign-offs, non-questions, agents' own replies."""

from __future__ import annotations

CUSTOMER_GREETINGS: tuple[str, ...] = (
    "Hi,",
    "Hello,",
    "Hi there,",
    "Hey,",
    "Good morning,",
    "Hello Tillwick team,",
    "Hi support,",
    "Dear Tillwick,",
    "Hey team,",
    "Good afternoon,",
)

# (prefix, suffix) choices per tone; either may be empty.
TONE_PREFIXES: dict[str, tuple[str, ...]] = {
    "neutral": ("", "", "", "Quick one.", "Question about our account.", "I run {business}."),
    "polite": (
        "",
        "Hope you're well!",
        "Sorry to bother you.",
        "Hope you can help.",
        "I'm new to Tillwick, so apologies if this is obvious.",
    ),
    "frustrated": (
        "This is the third time I'm writing about this.",
        "I'm really frustrated.",
        "Nobody has answered my last email.",
        "Honestly this is getting ridiculous.",
        "Your help pages didn't help at all.",
    ),
    "urgent": (
        "URGENT:",
        "Need help ASAP.",
        "Urgent please.",
        "This is time sensitive.",
        "I need this sorted today.",
    ),
}
TONE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "neutral": ("", "", "", "Thanks.", "Thanks in advance."),
    "polite": (
        "Thank you so much!",
        "Thanks in advance for your help.",
        "Many thanks!",
        "Appreciate it.",
        "Have a lovely day!",
    ),
    "frustrated": (
        "I expect an answer today.",
        "Please fix this.",
        "Not impressed.",
        "I'm considering switching providers over this.",
        "Why is this so hard?",
    ),
    "urgent": (
        "Payroll is due Friday.",
        "Please reply as soon as you can!",
        "Our customers are waiting.",
        "We have a launch tomorrow.",
        "Please call me if easier.",
    ),
}
TONE_WEIGHTS: dict[str, float] = {"neutral": 0.55, "polite": 0.2, "frustrated": 0.15, "urgent": 0.1}

CUSTOMER_SIGNOFFS: tuple[str, ...] = (
    "{first}",
    "- {first}",
    "Thanks, {first}",
    "Best, {first}",
    "{first} from {business}",
    "{full}",
    "Regards, {full}",
    "{first}, {business}",
)

# Non-questions, by the sub-kind recorded in `DemoCase.invalid_kind`.
INVALID_MESSAGES: dict[str, tuple[str, ...]] = {
    "greeting": (
        "hi",
        "hello",
        "Hi!",
        "hello there",
        "hey",
        "Good morning",
        "hello?",
        "Hi, anyone there?",
        "hey team",
        "Hello Tillwick support",
        "hi is this support",
        "Hi, is someone available to chat?",
        "yo",
        "good afternoon!",
        "Hey there 👋",
    ),
    "thanks": (
        "thanks, that worked!",
        "thank you so much",
        "perfect, thanks",
        "Got it, thanks!",
        "That fixed it, appreciate it",
        "ok great thanks",
        "Thanks, all sorted now.",
        "cheers",
        "Amazing, thank you for the quick help!",
        "ok thank you",
        "Brilliant, the payout arrived. Thanks!",
        "thx",
        "Thanks {agent}!",
    ),
    "preamble": (
        "I have a question",
        "quick question",
        "Can I ask something about my account?",
        "I need some help with something",
        "I have a question about payments",
        "Can you help me?",
        "hi I have a problem",
        "Is this the right place to ask about my account?",
        "I need to speak to someone",
        "can I talk to a human",
    ),
    "off_topic": (
        "Do you sell gift cards for the coffee shop next door?",
        "What's the wifi password?",
        "Can you recommend a good accountant in Austin?",
        "Is this where I apply for the job posting?",
        "My order from an online shop hasn't arrived, can you track it?",
        "Can you help me with an Excel formula?",
        "Are you open on Sundays?",
        "I want to buy a phone case",
        "What time does the store close today?",
        "Is this the pizza place?",
        "Can you unsubscribe me from this newsletter?",
        "Do you offer business loans for restaurants?",
    ),
    "no_context": (
        "it's not working",
        "help",
        "??",
        "still broken",
        "Same problem as before",
        "error",
        "why",
        "This is ridiculous",
        "it happened again",
        "not working again!!",
        "the thing is broken",
        "can you check my account",
        "something is wrong",
        "???",
    ),
}
INVALID_WEIGHTS: dict[str, float] = {
    "greeting": 0.27,
    "thanks": 0.25,
    "preamble": 0.18,
    "off_topic": 0.12,
    "no_context": 0.18,
}

# Agents' replies to non-questions; None means the case was closed without a reply.
INVALID_REPLIES: dict[str, tuple[str | None, ...]] = {
    "greeting": (
        "Hi {first}! How can I help you today?",
        "Hello {first}, thanks for reaching out. What can I help you with?",
        "Hi there! What can I do for you?",
        None,
    ),
    "thanks": (
        "Glad it worked, {first}! Have a great day.",
        "You're welcome! Happy to help.",
        "Great to hear it's sorted. Let us know if anything else comes up.",
        None,
        None,
    ),
    "preamble": (
        "Of course, {first}. What's your question?",
        "Sure, happy to help. What's going on?",
        "Hi {first}, go ahead and I'll take a look.",
    ),
    "off_topic": (
        "Hi {first}, I'm afraid we can't help with that here. This is Tillwick's support team "
        "for payments and your Tillwick account.",
        "Sorry, that's not something we can help with. If you paid a business through "
        "Tillwick, please contact the business directly about your order.",
        None,
    ),
    "no_context": (
        "Sorry to hear that, {first}! Could you tell me a bit more: what were you trying to "
        "do, and what error did you see?",
        "Hi {first}, I'd like to help. Which payment, payout or page is this about, and what "
        "happened exactly?",
        "Could you share a few more details, such as a payment or payout ID and a screenshot of the error?",
    ),
}

# Free text an agent writes instead of using the library: one line opening, topic-specific content.
FREE_TEXT_OPENERS: tuple[str, ...] = (
    "Thanks for reaching out.",
    "Thanks for getting in touch.",
    "I've had a look at your account.",
    "Happy to help with this.",
    "Sorry for the trouble here.",
    "",
)
# Agents' own wording, aligned with intents: FREE_TEXT[topic][i] answers MESSAGES[topic][i]; a topic's
# later intents (if any) get one of these at random.
FREE_TEXT: dict[str, tuple[str, ...]] = {
    "payout_schedule": (
        "I checked payout {payout_id} and it's on its way; it's due to land on {payout_date}.",
        "You can change how often you're paid in your payout settings; the new schedule starts with "
        "the next payout.",
    ),
    "pausing_payouts": (
        "You can switch to manual payouts in your payout settings and pay out whenever you like.",
        "I've checked, and you can pick a daily schedule again in your payout settings; your balance "
        "goes out with the next payout.",
    ),
    "failed_payouts": (
        "The bank rejected payout {payout_id}, usually because of a closed account or a wrong account "
        "number, so please double-check the details with them.",
        "Your bank returned payout {payout_id}. Now that the account details are updated we'll send the "
        "{amount} again with your next payout.",
    ),
    "bank_account_change": (
        "I can see the new account ending {last4} was added; payouts to it start after the 3-day "
        "security hold.",
        "The account ending {last4} couldn't be verified because the holder name doesn't match your "
        "business name, so please check it with your bank.",
    ),
    "instant_payouts": (
        "Instant payouts are now live! You can send up to $10,000 to your debit card in about half an "
        "hour for a 1% fee.",
        "The card ending {last4} isn't eligible for instant payouts, but most Visa or Mastercard debit "
        "cards are. Accounts also need 30 days of history.",
    ),
    "refunds": (
        "You can refund from the payment page; partial refunds work too.",
        "I've checked {charge_id}: the refund of {amount} went through on our side, so it's with the "
        "customer's bank now.",
    ),
    "disputes": (
        "I've looked at dispute {dispute_id}. The deadline to respond is {due_date}, so there's still "
        "time to add your evidence.",
        "Please respond to the dispute with your receipt and proof of delivery; the bank decides the "
        "outcome.",
    ),
    "account_verification": (
        "It's a regulatory requirement for all accounts. Your documents are with our verification "
        "team, and you'll get an email once they're reviewed.",
        "We just need a clearer photo of your ID; all four corners should be visible.",
    ),
    "api_keys": (
        "Your keys are on the API keys page in the Developers section.",
        "If the key was exposed, please roll it straight away and update your server.",
    ),
    "webhooks": (
        "Signature checks fail when the body is parsed before verifying, so please verify against the "
        "raw request body with that endpoint's own whsec_ secret.",
        "Event {event_id} can be resent from the endpoint's event log once the endpoint is enabled again.",
    ),
    "fees": (
        "Our pricing is per transaction, 2.9% + 30¢ for cards, with no monthly fee.",
        "The fee on {charge_id} includes the international card fee, which is why it's higher.",
    ),
    "currency_conversion": (
        "The difference on {charge_id} comes from the exchange rate and the 1% conversion fee.",
        "You can add a bank account in the other currency to avoid conversion.",
    ),
    "card_declines": (
        "The card issuer declined {charge_id}, not us, so the customer should contact their bank.",
        "That payment was blocked by Shield's risk checks; you can add the customer to your allow list "
        "and they can try again.",
    ),
    "subscriptions": (
        "I've checked {subscription_id}; you can cancel or pause it from the Actions menu.",
        "Changing the plan is prorated by default, so the customer only pays the difference.",
    ),
    "invoices": (
        "You can create and send invoices from the Invoices page, and turn on automatic reminders in "
        "your invoice settings.",
        "Invoice {invoice_id} is finalised, so you'll need to void it and send a new one.",
    ),
    "tax_forms": (
        "Your {tax_year} 1099-K will be in your tax documents by January 31.",
        "I've flagged your tax form for correction; you'll get the new one within 10 business days.",
    ),
    "login_2fa": (
        "I've started the identity check so we can reset your two-step verification; it takes 1 to 2 "
        "business days.",
        "Please try the reset link again and check your spam folder.",
    ),
    "closing_account": (
        "I can close the account for you once your balance is paid out.",
        "Your remaining balance is paid out before closing, but customers can still dispute payments "
        "for 120 days.",
    ),
    "connected_accounts": (
        "Please generate a fresh onboarding link for the seller, as they expire quickly.",
        "I checked {account_id}; the seller still needs to add their bank details before payouts can start.",
    ),
    "payment_methods": (
        "You can turn it on in your payment method settings.",
        "That payment method only shows for supported currencies and countries.",
    ),
    "reserves_holds": (
        "The reserve was added after a review of recent disputes; I've asked the risk team to take "
        "another look.",
        "The {amount} on hold is due to be released on {payout_date}.",
    ),
    "fraud_rules": (
        "You can block those payments with a custom rule in Shield.",
        "Payment {charge_id} is in review; you can approve it from the review queue.",
    ),
    "checkout_integration": (
        "Please use the checkout webhook to confirm payments rather than the redirect.",
        "The price ID you're using is from test mode.",
    ),
    "payment_links": (
        "You can create a link from the Payment links page and share it anywhere.",
        "You can deactivate the link from its page, and turn it back on later if you need to.",
    ),
    "reporting_exports": (
        "You can export the transactions in {payout_id} from the payout's page.",
        "Reports can be scheduled from the Exports page.",
    ),
    "team_permissions": (
        "The Analyst role gives read-only access, which sounds right for your bookkeeper.",
        "You can remove them from the Team page.",
    ),
    "statement_descriptor": (
        "You can change your statement descriptor in your public details; it applies to new payments.",
        "Charge {charge_id} shows under your statement descriptor, and adding an order number suffix "
        "usually helps customers recognise it.",
    ),
    "test_mode": (
        "Use test card 4242 4242 4242 4242 in test mode.",
        "Test and live data are kept separate, so you'll need to recreate products in live mode.",
    ),
}
FREE_TEXT_CLOSERS: tuple[str, ...] = (
    "Let me know if there's anything else.",
    "Hope this helps!",
    "Any other questions, just reply here.",
    "",
)

# After the policy change agents answer payout-timing questions in their own words.
POLICY_CHANGE_REPLIES: tuple[str, ...] = (
    "Good news: since October 12, standard payouts arrive the next business day after the funds become "
    "available in your balance. You can see the expected date of each payout under Balances → Payouts.",
    "Standard payouts now land the next business day once funds are available (this changed on October "
    "12). Card payments still take 2 business days to become available.",
    "Since October 12, standard payouts reach your bank the next business day after funds become "
    "available. A payment taken on Monday is usually in your bank on Wednesday. The expected arrival "
    "date is under Balances → Payouts.",
)

# Light edits agents make to library answers.
REPLY_GREETINGS: tuple[str, ...] = (
    "Hi {first},",
    "Hello {first},",
    "Hey {first},",
    "Hi {first}!",
    "Hi there,",
    "Dear {first},",
)
ADDED_SENTENCES: tuple[str, ...] = (
    "Sorry for the wait on this one.",
    "Thanks for your patience.",
    "Hope that helps!",
    "I've added a note to case {case_id} so the team has the context.",
    "Thanks for flagging this.",
    "Let me know if you have any other questions.",
    "I completely understand the urgency.",
)
AGENT_SIGNOFFS: tuple[str, ...] = (
    "Best,\n{agent}",
    "Thanks,\n{agent}",
    "Kind regards,\n{agent}",
    "Cheers,\n{agent}",
)
WORD_SWAPS: tuple[tuple[str, str], ...] = (
    ("business days", "working days"),
    ("click", "select"),
    ("You can", "You're able to"),
    ("usually", "normally"),
    ("Please", "Could you please"),
    ("right away", "straight away"),
    ("make sure", "check that"),
    ("customer", "client"),
)
