"""How Tillwick's customers phrase their questions: paraphrase templates per topic and intent.

`MESSAGES[topic][i]` are the messages answered by the topic's approved answer `i` (see
`catalog_answers.APPROVED`). Templates may use the topic's case fields (`catalog.TOPIC_FIELDS`) and
`{business}`; the generator adds greetings, tone, sign-offs and typos around them.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[tuple[str, ...], ...]] = {
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
