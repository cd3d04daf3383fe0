"""How Tillwick's customers phrase their questions: paraphrase templates per topic and intent.

`MESSAGES[topic][i]` are the messages answered by the topic's approved answer `i` (see
`catalog_answers.APPROVED`). Templates may use the topic's case fields (`catalog.TOPIC_FIELDS`) and
`{business}`; the generator adds greetings, tone, sign-offs and typos around them.
"""

from __future__ import annotations

from supportcue.demo.catalog import TOPICS
from supportcue.demo.catalog_messages_account import MESSAGES_ACCOUNT

_MESSAGES_MONEY: dict[str, tuple[tuple[str, ...], ...]] = {
    "payout_schedule": (
        (
            "When will payout {payout_id} hit my bank account?",
            "I made my first big sales weekend and the dashboard says {amount} is on the way. How many days "
            "until I actually see it in my bank?",
            "how long do payouts take to arrive",
            "Payout {payout_id} shows as in transit since yesterday. Is that normal or should I be worried?",
            "We do payroll on Fridays so I need to know exactly when money from Monday's sales reaches our "
            "account. What's the timeline?",
        ),
        (
            "Can I switch from daily payouts to weekly?",
            "Our accountant wants one payout a month instead of lots of small ones. Where do I change that?",
            "how do I change which day of the week payouts go out",
            "Is it possible to get paid out on the 1st of every month?",
        ),
        (
            "This is my first payout and it's taking forever. Why is it still pending after a week?",
            "Just started using Tillwick for {business}. Took my first payments last Monday but no payout "
            "yet, "
            "is there a delay for new accounts?",
            "why is my first payout scheduled for {payout_date}? thats 7 days away",
        ),
    ),
    "pausing_payouts": (
        (
            "How do I pause payouts?",
            "We're switching banks next month. Is there a way to hold payouts in Tillwick until the new "
            "account is ready?",
            "Can I stop automatic payouts and just pay out manually when I want?",
            "I'd like to keep the money in my Tillwick balance for a couple of weeks, how do I turn off "
            "payouts",
            "need to temporarily stop payouts to our bank, where's the setting?",
        ),
        (
            "I paused payouts last month, how do I turn them back on?",
            "Our new bank account is set up now. How do I restart the automatic payouts?",
            "payouts were on manual, want them daily again. how?",
            "There's a banner saying payouts are paused but I never paused them. How do I get them going "
            "again?",
        ),
    ),
    "failed_payouts": (
        (
            "My payout {payout_id} failed. What happened?",
            "Got an email saying the payout of {amount} couldn't be delivered. The bank account is "
            "definitely open, so why did it fail?",
            "payout failed?? it says returned by bank",
            "Our bank says they never received payout {payout_id} from {payout_date}. The Dashboard now "
            "shows it as failed. Where is the money?",
            "Why would a payout to the account ending {last4} bounce back? It worked fine last month.",
        ),
        (
            "I fixed the bank details after the failed payout. When do I get the {amount}?",
            "How do I retry a failed payout?",
            "Updated our routing number. Will the returned payout be sent again automatically or do I need "
            "to do something?",
            "payout {payout_id} was returned, new bank account added, can you resend it please",
        ),
    ),
    "bank_account_change": (
        (
            "How do I change the bank account my payouts go to?",
            "We moved our business banking to a new bank. What's the process to update it on Tillwick?",
            "I added a new bank account yesterday but the payout still went to the old one. Why?",
            "want to replace the account ending {last4} with a different one",
            "Is there a waiting period after changing bank details? My payout is on hold.",
        ),
        (
            "It keeps saying the bank account ending {last4} can't be verified. The numbers are correct.",
            "Why was my new bank account rejected?",
            "bank account verification failed, tried 3 times",
            "I'm trying to add my personal account for payouts for {business} and it won't verify. Does it "
            "need to be a business account?",
        ),
    ),
    "instant_payouts": (
        (
            "How do instant payouts work? I saw the announcement.",
            "Can I get paid to my debit card the same day now? What does it cost?",
            "what's the fee for instant payouts to a card",
            "I need {amount} today for a supplier. Can I use the new instant payout thing?",
            "Is there a limit on how much I can send with an instant payout?",
        ),
        (
            "The Pay out instantly button is greyed out for me. Why?",
            "Tried adding my debit card ending in {last4} for instant payouts and it says not eligible",
            "instant payout not available on my account??",
            "We've been on Tillwick for two weeks. Why can't we use instant payouts yet?",
        ),
    ),
    "refunds": (
        (
            "How do I refund a customer?",
            "A customer returned an item and I need to give back part of the payment, {amount}. How do I do "
            "a partial refund?",
            "Can I still refund an order from four months ago?",
            "Is there a fee for refunding a payment?",
            "customer wants their money back for {charge_id}, how",
        ),
        (
            "I refunded {charge_id} over a week ago and the customer says they still don't have it.",
            "How long does a refund take to show up on the customer's card?",
            "Customer is angry, refund of {amount} not received. Did it actually go through?",
            "refund shows succeeded but customer bank says nothing came in. what now",
        ),
        (
            "My refund has been stuck on pending for two days. Why?",
            "I tried to refund {amount} and it says pending because of insufficient balance. What does that "
            "mean?",
            "refund pending - how do I make it go through now",
        ),
    ),
    "disputes": (
        (
            "I just got a notification about a dispute on {charge_id}. What do I do?",
            "Why was {amount} taken from my balance? It says dispute {dispute_id}.",
            "Customer filed a chargeback on an order we delivered. How do I fight it?",
            "what is this $15 fee on my account? something about a dispute",
        ),
        (
            "What evidence should I upload for dispute {dispute_id}? Customer says they never got the item.",
            "The customer claims the payment was fraudulent but they've ordered from us 5 times. What should "
            "I send?",
            "what documents do I need to win a chargeback",
            "Can I submit more evidence after I've already submitted?",
        ),
        (
            "I submitted evidence for {dispute_id} a month ago. When will I hear back?",
            "How long does the dispute process usually take?",
            "dispute still under review, anything I need to do?",
        ),
    ),
    "currency_conversion": (
        (
            "A customer paid in euros and I got less than I expected in dollars. How is the rate calculated?",
            "what exchange rate do you use",
            "Is there a fee for charging in GBP when my account is in USD?",
            "Customer says they were charged {amount} but I see a different amount on {charge_id}. Is that "
            "conversion?",
            "Refund in another currency came out different from the original charge. Why?",
        ),
        (
            "Can I get paid out in euros without converting to dollars?",
            "We sell a lot to Canada. Can I have a CAD bank account for payouts?",
            "how to avoid currency conversion fees",
            "Which currencies can I be paid out in?",
        ),
    ),
    "card_declines": (
        (
            "Customer's card keeps getting declined on {charge_id}. They say there's money on it.",
            "Why was this card declined? The customer has used it before.",
            "lots of declines today, what does generic_decline mean",
            "A customer tried 4 times with the card ending {last4} and got declined every time. What should "
            "I tell them?",
            "card declined do_not_honor - what does that mean",
        ),
        (
            "It says the payment was blocked by Tillwick Shield. The customer is legitimate, can you let it "
            "through?",
            "Why did your system block a payment from one of my regular customers?",
            "payment {charge_id} blocked, high risk. how do I allow this customer",
            "Is the decline coming from the bank or from you?",
        ),
    ),
    "payment_methods": (
        (
            "How do I add Apple Pay to my checkout?",
            "Can my customers pay by bank transfer or ACH?",
            "enable buy now pay later?",
            "Which payment methods can I offer to customers in Europe?",
        ),
        (
            "I enabled Klarna-style pay later but it doesn't show up at checkout.",
            "Why don't customers see the bank debit option?",
            "Apple Pay button not showing on my site",
            "Payment method turned on in settings but not visible for some customers. Why?",
        ),
    ),
    "fraud_rules": (
        (
            "How do I block payments from a specific country?",
            "Can I create a rule to review all payments over $1,000?",
            "how to write custom shield rules",
            "We're getting lots of card-testing attempts. How can I block them?",
        ),
        (
            "Payment {charge_id} is marked 'in review'. What do I do with it?",
            "What does it mean when Shield puts a payment in review?",
            "should I refund a payment flagged as high risk",
            "I have 12 payments in the review queue. Do I need to approve them?",
        ),
    ),
    "payment_links": (
        (
            "How do I create a payment link?",
            "Can I make a link where people enter their own amount, for donations?",
            "share a payment link on instagram?",
            "I don't have a website. Is there a way to get paid with just a link?",
        ),
        (
            "How do I turn off a payment link?",
            "The event is sold out. How do I stop people paying through the link?",
            "deactivate payment link",
            "Can I reactivate a payment link I disabled?",
        ),
    ),
    "statement_descriptor": (
        (
            "How do I change the name that shows on customers' card statements?",
            "Customers see our old company name on their statements. Can I update it?",
            "change statement descriptor",
            "What's the character limit for the statement descriptor?",
        ),
        (
            "A customer doesn't recognise {charge_id} on their statement. What will they see?",
            "Customers keep disputing because they don't recognise our charge. Can we make it clearer?",
            "can I add the order number to the statement",
            "customer says weird charge on card from us",
        ),
    ),
}
MESSAGES: dict[str, tuple[tuple[str, ...], ...]] = {
    t.key: {**_MESSAGES_MONEY, **MESSAGES_ACCOUNT}[t.key] for t in TOPICS
}
