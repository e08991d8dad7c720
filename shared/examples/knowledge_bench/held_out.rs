//! Held-out customer questions against the same Help Center, written before the retrieval
//! was tuned and never used for tuning: the benchmark reports them in a table of their own, as
//! a check that the answer rule generalises beyond the questions it was measured on.

use crate::help_center::Question;

const fn q(text: &'static str, answers: &'static [&'static str]) -> Question {
    Question { text, answers }
}

pub const HELD_OUT: &[Question] = &[
    // Shipping.
    q(
        "how long will delivery take to Austria?",
        &["shipping-to-austria"],
    ),
    q(
        "do I have to pay import tax if I order to Canada",
        &["shipping-to-canada"],
    ),
    q(
        "my package came all smashed up, the box was ripped",
        &["damaged-parcel"],
    ),
    q(
        "Can I have my order delivered to a parcel locker?",
        &["po-box"],
    ),
    // Orders.
    q(
        "I ordered the wrong size, can I change it before it ships?",
        &["change-cancel-order"],
    ),
    q(
        "I never got an email confirming my purchase",
        &["confirmation-email"],
    ),
    q(
        "can I add another tshirt to the order I placed this morning",
        &["add-items"],
    ),
    q("can I place an order over the telephone", &["phone-orders"]),
    q(
        "when will the sold out boots be available again",
        &["back-in-stock"],
    ),
    q(
        "you sent me a completely different item than what I ordered",
        &["wrong-item"],
    ),
    // Returns and refunds.
    q(
        "how many days do I have to send something back",
        &["how-to-return"],
    ),
    q("do I need to pay for the return postage", &["return-label"]),
    q("can I return earrings", &["non-returnable"]),
    q(
        "can I bring my online order back to the shop in Berlin",
        &["return-in-store", "store-berlin"],
    ),
    q(
        "how long before the money is back in my account after returning",
        &["refund-time"],
    ),
    // Payments.
    q(
        "can I pay by bank transfer and when do you ship then",
        &["bank-transfer"],
    ),
    q("can I pay in installments", &["klarna"]),
    q(
        "payment failed three times, my bank says everything is fine",
        &["payment-declined"],
    ),
    q(
        "I see two payments on my credit card statement for one order",
        &["charged-twice"],
    ),
    q(
        "where can I download a receipt for my order as a pdf",
        &["order-history", "invoices"],
    ),
    // Accounts.
    q(
        "the link to set a new password doesn't work any more",
        &["reset-password"],
    ),
    q(
        "how do I close my account and remove my data",
        &["delete-account"],
    ),
    q(
        "my account is locked after too many attempts",
        &["login-problems"],
    ),
    // Sizing, care, warranty.
    q(
        "what size ring should I order, how do I measure my finger",
        &["size-guide-rings"],
    ),
    q(
        "how do I wash a wool sweater without it shrinking",
        &["care-wool"],
    ),
    q(
        "my watch stopped working after 8 months, is that covered",
        &["warranty-watches", "warranty-claim"],
    ),
    q(
        "can my zip be fixed after the warranty is over",
        &["repairs"],
    ),
    q(
        "what do the symbols on the washing label mean",
        &["care-labels"],
    ),
    // Gift cards, stores, discounts, products.
    q(
        "how do I see how much is left on my gift card",
        &["gift-card-balance"],
    ),
    q(
        "what time does the Vienna shop open on Sunday",
        &["store-vienna"],
    ),
    q("does the Amsterdam store do repairs", &["store-amsterdam"]),
    q(
        "I signed up for the newsletter, where is my welcome code?",
        &["newsletter-discount"],
    ),
    q("how many points do I get per euro", &["loyalty-points"]),
    q("can you put a name on a wallet", &["engraving"]),
    q(
        "can I add a gift message to the package",
        &["gift-wrapping"],
    ),
    // Questions no article answers.
    q("do you offer internships for fashion students", &[]),
    q("do you sell perfume", &[]),
    q(
        "is your Dublin store hosting any events for St Patrick's day",
        &[],
    ),
    q("do you sell umbrellas", &[]),
    q("do you have a franchise opportunity in Brazil", &[]),
    q("who designed the logo for your brand", &[]),
    q(
        "can you recommend a good restaurant near the Milan store",
        &[],
    ),
    q("is there a parking garage near your Munich shop", &[]),
    q("when was the company founded", &[]),
    q("do you rent out wedding dresses", &[]),
    q("do you make clothes for dogs", &[]),
    q("do you offer corporate uniforms for my staff", &[]),
    q("is the Lisbon store wheelchair accessible", &[]),
];
