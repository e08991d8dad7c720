//! A synthetic Help Center for a clothing and accessories shop ("Northwind Outfitters"),
//! written for this benchmark: hand-written articles plus a few families generated from
//! templates (shipping per country, stores per city, size guides, care guides, warranties).

pub struct Article {
    pub slug: String,
    pub topic: &'static str,
    pub title: String,
    pub html: String,
}

fn article(topic: &'static str, slug: &str, title: &str, sections: &[(&str, &str)]) -> Article {
    let mut html = String::new();
    for (heading, text) in sections {
        if !heading.is_empty() {
            html.push_str(&format!("<h2>{heading}</h2>"));
        }
        for paragraph in text.split("\n") {
            html.push_str(&format!("<p>{paragraph}</p>"));
        }
    }
    Article {
        slug: slug.to_owned(),
        topic,
        title: title.to_owned(),
        html,
    }
}

const COUNTRIES: &[(&str, &str, u32, u32, &str)] = &[
    // name, slug, standard days min, max, customs note
    (
        "Portugal",
        "portugal",
        3,
        5,
        "no customs duties within the EU",
    ),
    ("Spain", "spain", 3, 5, "no customs duties within the EU"),
    ("France", "france", 2, 4, "no customs duties within the EU"),
    (
        "Germany",
        "germany",
        1,
        3,
        "no customs duties within the EU",
    ),
    ("Italy", "italy", 3, 6, "no customs duties within the EU"),
    (
        "the Netherlands",
        "netherlands",
        1,
        3,
        "no customs duties within the EU",
    ),
    (
        "Belgium",
        "belgium",
        2,
        3,
        "no customs duties within the EU",
    ),
    (
        "Austria",
        "austria",
        2,
        4,
        "no customs duties within the EU",
    ),
    (
        "Ireland",
        "ireland",
        3,
        5,
        "no customs duties within the EU",
    ),
    ("Poland", "poland", 3, 5, "no customs duties within the EU"),
    ("Sweden", "sweden", 3, 5, "no customs duties within the EU"),
    (
        "Denmark",
        "denmark",
        2,
        4,
        "no customs duties within the EU",
    ),
    (
        "Finland",
        "finland",
        4,
        6,
        "no customs duties within the EU",
    ),
    ("Greece", "greece", 4, 7, "no customs duties within the EU"),
    (
        "the United Kingdom",
        "united-kingdom",
        3,
        6,
        "import VAT is collected at checkout, so the courier asks for nothing",
    ),
    (
        "Switzerland",
        "switzerland",
        3,
        6,
        "Swiss VAT and a clearance fee are charged by the courier on delivery",
    ),
    (
        "Norway",
        "norway",
        4,
        7,
        "Norwegian VAT is collected at checkout for orders under 3,000 NOK",
    ),
    (
        "the United States",
        "united-states",
        5,
        8,
        "orders under 800 USD enter duty free",
    ),
    (
        "Canada",
        "canada",
        6,
        10,
        "duties and taxes are charged by the courier on delivery",
    ),
    (
        "Australia",
        "australia",
        7,
        12,
        "GST is collected at checkout",
    ),
    (
        "Japan",
        "japan",
        6,
        9,
        "consumption tax is charged by the courier on delivery",
    ),
    (
        "Brazil",
        "brazil",
        10,
        20,
        "import taxes are charged by the courier and can take extra days to clear",
    ),
    (
        "Mexico",
        "mexico",
        8,
        14,
        "import taxes are charged by the courier on delivery",
    ),
    (
        "Singapore",
        "singapore",
        5,
        8,
        "GST is collected at checkout",
    ),
    (
        "Czechia",
        "czechia",
        3,
        5,
        "no customs duties within the EU",
    ),
    (
        "Hungary",
        "hungary",
        3,
        6,
        "no customs duties within the EU",
    ),
    (
        "Romania",
        "romania",
        4,
        7,
        "no customs duties within the EU",
    ),
    (
        "Luxembourg",
        "luxembourg",
        1,
        3,
        "no customs duties within the EU",
    ),
    (
        "Croatia",
        "croatia",
        4,
        7,
        "no customs duties within the EU",
    ),
    (
        "Iceland",
        "iceland",
        5,
        9,
        "Icelandic VAT and a handling fee are charged by the courier on delivery",
    ),
    (
        "New Zealand",
        "new-zealand",
        8,
        14,
        "GST is collected at checkout",
    ),
    (
        "South Korea",
        "south-korea",
        6,
        10,
        "duties are charged by the courier for orders over 150 USD",
    ),
    (
        "the United Arab Emirates",
        "uae",
        5,
        9,
        "duties are charged by the courier on delivery",
    ),
    (
        "South Africa",
        "south-africa",
        8,
        15,
        "import VAT and duties are charged by the courier on delivery",
    ),
];

const CITIES: &[(&str, &str, &str, &str)] = &[
    // city, slug, street, special services
    (
        "Lisbon",
        "lisbon",
        "Rua Augusta 120",
        "alterations and click and collect",
    ),
    (
        "Porto",
        "porto",
        "Rua de Santa Catarina 45",
        "click and collect",
    ),
    (
        "Madrid",
        "madrid",
        "Calle de Fuencarral 88",
        "alterations, personal styling and click and collect",
    ),
    (
        "Barcelona",
        "barcelona",
        "Passeig de Gracia 31",
        "click and collect",
    ),
    (
        "Paris",
        "paris",
        "Rue de Rivoli 210",
        "personal styling and click and collect",
    ),
    (
        "Lyon",
        "lyon",
        "Rue de la Republique 64",
        "click and collect",
    ),
    (
        "Berlin",
        "berlin",
        "Torstrasse 140",
        "alterations, repairs and click and collect",
    ),
    (
        "Munich",
        "munich",
        "Sendlinger Strasse 12",
        "click and collect",
    ),
    (
        "Hamburg",
        "hamburg",
        "Moenckebergstrasse 7",
        "click and collect",
    ),
    (
        "Amsterdam",
        "amsterdam",
        "Kalverstraat 99",
        "repairs and click and collect",
    ),
    ("Brussels", "brussels", "Rue Neuve 50", "click and collect"),
    (
        "Vienna",
        "vienna",
        "Mariahilfer Strasse 77",
        "click and collect",
    ),
    (
        "Milan",
        "milan",
        "Corso Buenos Aires 18",
        "personal styling and click and collect",
    ),
    ("Dublin", "dublin", "Grafton Street 21", "click and collect"),
    (
        "London",
        "london",
        "Carnaby Street 8",
        "alterations, repairs and click and collect",
    ),
    (
        "Copenhagen",
        "copenhagen",
        "Stroeget 30",
        "click and collect",
    ),
    (
        "Stockholm",
        "stockholm",
        "Drottninggatan 55",
        "click and collect",
    ),
    ("Warsaw", "warsaw", "Nowy Swiat 19", "click and collect"),
    (
        "Rome",
        "rome",
        "Via del Corso 150",
        "personal styling and click and collect",
    ),
    ("Frankfurt", "frankfurt", "Zeil 90", "click and collect"),
    (
        "Seville",
        "seville",
        "Calle Sierpes 40",
        "click and collect",
    ),
    (
        "Antwerp",
        "antwerp",
        "Meir 60",
        "repairs and click and collect",
    ),
    (
        "Gothenburg",
        "gothenburg",
        "Kungsgatan 22",
        "click and collect",
    ),
];

const SIZE_GUIDES: &[(&str, &str, &str)] = &[
    (
        "shoes",
        "shoes",
        "Measure your foot from heel to longest toe in the evening, when feet are largest. Our shoes follow EU sizing; if you are between two sizes, take the larger one.",
    ),
    (
        "jeans",
        "jeans",
        "Measure your waist at the narrowest point and your inside leg from crotch to ankle. Jeans are sized by waist and length in inches, for example 32/34.",
    ),
    (
        "shirts",
        "shirts",
        "Measure around your chest under the arms and around your neck. Slim fit shirts are cut closer to the body; choose regular fit if you like room to move.",
    ),
    (
        "dresses",
        "dresses",
        "Measure bust, waist and hips. Dresses follow EU sizes 32 to 48; wrap dresses adjust to two sizes.",
    ),
    (
        "jackets and coats",
        "jackets",
        "Measure your chest over a thin jumper. Coats are cut with room for layers, so most customers take their usual size.",
    ),
    (
        "kids' clothing",
        "kids",
        "Kids' sizes follow height in centimetres. Choose the size for your child's height today; there is room to grow of about 4 cm.",
    ),
    (
        "rings",
        "rings",
        "Wrap a strip of paper around your finger, mark where it overlaps and measure the length in millimetres; that is the circumference our ring sizes use.",
    ),
    (
        "hats",
        "hats",
        "Measure around your head just above the ears and eyebrows. Hats come in S (55 cm), M (57 cm) and L (59 cm).",
    ),
    (
        "gloves",
        "gloves",
        "Measure around your hand at the knuckles, without the thumb. Gloves run from 7 to 10 in half sizes.",
    ),
    (
        "swimwear",
        "swimwear",
        "Swimwear is sized like underwear. Bikini tops and bottoms are sold separately so you can choose each size.",
    ),
    (
        "belts",
        "belts",
        "Take the waist size of your trousers and add 5 cm, or measure a belt you own from the buckle to the hole you use.",
    ),
    (
        "socks",
        "socks",
        "Socks come in three sizes covering shoe sizes 36-39, 40-43 and 44-47.",
    ),
];

const MATERIALS: &[(&str, &str, &str)] = &[
    (
        "leather",
        "leather",
        "Wipe leather with a damp cloth and let it dry away from heat. Feed it with leather balm twice a year. Never put leather in the washing machine.",
    ),
    (
        "wool",
        "wool",
        "Wash wool by hand in cold water with wool detergent, or on the wool cycle at 30 degrees. Dry it flat; hanging stretches it.",
    ),
    (
        "cotton",
        "cotton",
        "Wash cotton at 30 or 40 degrees with similar colours. Turn printed items inside out. Tumble drying can shrink cotton slightly.",
    ),
    (
        "silk",
        "silk",
        "Hand wash silk in cold water or have it dry cleaned. Do not wring it; roll it in a towel to remove water.",
    ),
    (
        "denim",
        "denim",
        "Wash denim rarely, inside out and cold, to keep the colour. Raw denim can bleed dye in the first washes.",
    ),
    (
        "cashmere",
        "cashmere",
        "Hand wash cashmere in lukewarm water and dry it flat. Remove pilling with a cashmere comb.",
    ),
    (
        "linen",
        "linen",
        "Linen can be machine washed at 40 degrees. Iron it while slightly damp, or enjoy its natural creases.",
    ),
    (
        "suede",
        "suede",
        "Brush suede with a suede brush and protect it with a water repellent spray. Remove stains with a suede eraser.",
    ),
    (
        "down jackets",
        "down",
        "Wash down jackets on a gentle cycle with down detergent and tumble dry on low with two tennis balls to restore the loft.",
    ),
    (
        "sneakers",
        "sneakers",
        "Clean sneakers with a soft brush and mild soap. Remove the laces and insoles first; do not machine wash leather sneakers.",
    ),
];

const WARRANTIES: &[(&str, &str, u32, &str)] = &[
    (
        "watches",
        "watches",
        2,
        "the movement and the case; straps and batteries are not covered",
    ),
    (
        "bags",
        "bags",
        2,
        "seams, zips and hardware; wear and tear of the leather is not covered",
    ),
    (
        "headphones",
        "headphones",
        1,
        "electronic faults; damage from drops or water is not covered",
    ),
    (
        "sunglasses",
        "sunglasses",
        1,
        "frames and hinges; scratched lenses are not covered",
    ),
    (
        "backpacks",
        "backpacks",
        5,
        "seams, zips and straps for five years",
    ),
    (
        "shoes",
        "shoes",
        1,
        "soles coming unstuck and broken stitching; worn down soles are not covered",
    ),
];

/// Every article of the Help Center.
pub fn articles() -> Vec<Article> {
    let mut all = vec![
        // Shipping, general.
        article(
            "shipping",
            "shipping-times",
            "Shipping times and options",
            &[
                (
                    "Shipping times",
                    "Standard shipping takes 2 to 5 business days within the EU and 5 to 12 business days to the rest of the world. See the article for your country for exact times.",
                ),
                (
                    "Express shipping",
                    "Express shipping delivers the next business day within the EU when you order before 14:00 CET, and within 2 to 4 days elsewhere.",
                ),
                (
                    "When we dispatch",
                    "Orders placed on a business day before 14:00 CET leave our warehouse the same day. Orders placed at the weekend are dispatched on Monday.",
                ),
            ],
        ),
        article(
            "shipping",
            "shipping-costs",
            "Shipping costs",
            &[(
                "",
                "Standard shipping is free on orders over 50 EUR in the EU and over 120 EUR elsewhere. Below that, standard shipping costs 4.95 EUR in the EU and 14.95 EUR elsewhere. Express shipping costs 9.95 EUR in the EU.",
            )],
        ),
        article(
            "shipping",
            "tracking",
            "Where is my order? Tracking your parcel",
            &[
                (
                    "Tracking your parcel",
                    "When your order ships we email you a tracking link. You can also find it under Orders in your account. Tracking can take up to 24 hours to show the first scan.",
                ),
                (
                    "My parcel has not arrived",
                    "If tracking shows your parcel as delivered but you cannot find it, check with neighbours and your building's reception. If your order has not arrived 5 business days after the expected delivery date, contact us and we will open an investigation with the courier and send a replacement or a refund.",
                ),
            ],
        ),
        article(
            "shipping",
            "po-box",
            "Delivery to a PO box or parcel locker",
            &[(
                "",
                "We can deliver standard shipping to PO boxes and parcel lockers in most EU countries. Express shipping needs a street address because the courier requires a signature.",
            )],
        ),
        article(
            "shipping",
            "change-address",
            "Changing the delivery address",
            &[(
                "",
                "You can change the delivery address of an order that has not shipped yet under Orders in your account. Once the parcel has shipped, use the courier's tracking page to redirect it to a pickup point.",
            )],
        ),
        article(
            "shipping",
            "damaged-parcel",
            "My parcel arrived damaged",
            &[(
                "",
                "If the box arrives crushed or torn, take a photo before opening it. Send us the photos with your order number within 14 days and we send a replacement at no cost.",
            )],
        ),
        // Orders.
        article(
            "orders",
            "change-cancel-order",
            "Changing or cancelling an order",
            &[
                (
                    "Changing an order",
                    "You can change sizes or colours within one hour of placing an order, under Orders in your account, as long as the order has not been packed.",
                ),
                (
                    "Cancelling an order",
                    "To cancel an order, open it under Orders and choose Cancel order within one hour of placing it. After that the order is packed and you can return it once it arrives.",
                ),
            ],
        ),
        article(
            "orders",
            "confirmation-email",
            "I did not get an order confirmation email",
            &[(
                "",
                "The confirmation email arrives within a few minutes. Check your spam folder and that the email address in your account is correct. Every order is also listed under Orders in your account.",
            )],
        ),
        article(
            "orders",
            "add-items",
            "Adding items to an existing order",
            &[(
                "",
                "Items cannot be added to an order that has been placed. Place a second order; orders placed within an hour of each other to the same address are combined and shipped together at no extra shipping cost.",
            )],
        ),
        article(
            "orders",
            "phone-orders",
            "Ordering by phone",
            &[(
                "",
                "We do not take orders by phone. Our customer service can help you complete an order online if you have trouble at checkout.",
            )],
        ),
        article(
            "orders",
            "pre-orders",
            "Pre-orders",
            &[(
                "",
                "Pre-order items show an expected shipping date on the product page. You pay when you order, and items in stock on the same order ship together with the pre-order unless you ask us to split them.",
            )],
        ),
        article(
            "orders",
            "back-in-stock",
            "Sold out items and restock alerts",
            &[(
                "",
                "Choose Notify me on a sold out product and we email you when it is back in stock. Most items are restocked within 4 to 6 weeks; limited editions are not restocked.",
            )],
        ),
        article(
            "orders",
            "missing-item",
            "An item is missing from my order",
            &[(
                "",
                "Large orders sometimes ship in more than one parcel; your shipping confirmation lists each parcel. If an item is still missing after every parcel arrived, send us your order number and we ship the item again.",
            )],
        ),
        article(
            "orders",
            "wrong-item",
            "I received the wrong item",
            &[(
                "",
                "Sorry about that. Send us a photo of the item and its label with your order number. We send the right item at once and a free return label for the wrong one.",
            )],
        ),
        article(
            "orders",
            "order-history",
            "Finding your order history and invoices",
            &[(
                "",
                "Every order you placed with your account is listed under Orders, with its status, tracking link and invoice to download as a PDF.",
            )],
        ),
        // Returns.
        article(
            "returns",
            "how-to-return",
            "How to return an item",
            &[
                (
                    "Starting a return",
                    "Open the order under Orders in your account and choose Return items. Pick the items and the reason, print the return label and drop the parcel at any post office or parcel point.",
                ),
                (
                    "Return window",
                    "You can return unworn items with their tags within 30 days of delivery. During the holiday season, orders delivered from 15 November are returnable until 15 January.",
                ),
            ],
        ),
        article(
            "returns",
            "return-label",
            "Free return label",
            &[(
                "",
                "Returns are free within the EU: the return label is in your account under Orders. From outside the EU returns cost 9.95 EUR, deducted from your refund.",
            )],
        ),
        article(
            "returns",
            "return-gift",
            "Returning a gift",
            &[(
                "",
                "Gifts can be returned with the gift receipt or the order number. The refund is given as a gift card to the person returning it, so the buyer is not told.",
            )],
        ),
        article(
            "returns",
            "exchanges",
            "Exchanging for another size or colour",
            &[(
                "",
                "To exchange an item, return it and choose Exchange as the reason: we reserve the new size or colour as soon as you print the label and ship it when your return is scanned.",
            )],
        ),
        article(
            "returns",
            "non-returnable",
            "Items that cannot be returned",
            &[(
                "",
                "Underwear, swimwear without its hygiene seal, pierced earrings, personalised items and gift cards cannot be returned.",
            )],
        ),
        article(
            "returns",
            "return-in-store",
            "Returning online orders to a store",
            &[(
                "",
                "You can return online orders to any of our stores free of charge within 30 days. Bring the items with their tags and your order confirmation; the refund goes to your original payment method.",
            )],
        ),
        // Refunds.
        article(
            "refunds",
            "refund-time",
            "When will I get my refund?",
            &[(
                "",
                "We refund within 3 business days of receiving your return. Your bank then takes 3 to 10 business days to show the money on your statement. You get an email when we issue the refund.",
            )],
        ),
        article(
            "refunds",
            "refund-method",
            "How refunds are paid",
            &[(
                "",
                "Refunds always go back to the original payment method: to your card, PayPal or Klarna account. Orders paid with a gift card are refunded to a new gift card.",
            )],
        ),
        article(
            "refunds",
            "shipping-refund",
            "Are shipping costs refunded?",
            &[(
                "",
                "When you return the whole order within 30 days we refund the standard shipping cost as well. Express shipping costs are not refunded unless the item is faulty.",
            )],
        ),
        article(
            "refunds",
            "cancelled-order-refund",
            "Refunds for cancelled orders",
            &[(
                "",
                "If you cancel an order before it ships, the payment authorisation is released at once; depending on your bank it disappears from your statement within 5 business days.",
            )],
        ),
        // Payments.
        article(
            "payments",
            "payment-methods",
            "Payment methods we accept",
            &[(
                "",
                "We accept Visa, Mastercard, American Express, PayPal, Klarna, Apple Pay, Google Pay and bank transfer. Available methods depend on your country and are shown at checkout.",
            )],
        ),
        article(
            "payments",
            "klarna",
            "Paying later with Klarna",
            &[(
                "",
                "With Klarna you can pay 30 days after delivery or split the amount into three interest-free instalments. Klarna runs a credit check; questions about your Klarna invoice go to Klarna directly.",
            )],
        ),
        article(
            "payments",
            "paypal",
            "Paying with PayPal",
            &[(
                "",
                "Choose PayPal at checkout and log in to your PayPal account to approve the payment. Refunds to PayPal appear within 24 hours of being issued.",
            )],
        ),
        article(
            "payments",
            "bank-transfer",
            "Paying by bank transfer",
            &[(
                "",
                "If you choose bank transfer, we email you our IBAN and a reference. We keep the items for 7 days and ship when the transfer arrives.",
            )],
        ),
        article(
            "payments",
            "payment-declined",
            "My payment was declined",
            &[(
                "",
                "Check the card number, expiry date and billing address. Some banks ask you to approve online payments in their app. If it still fails, try another payment method or call your bank.",
            )],
        ),
        article(
            "payments",
            "charged-twice",
            "I was charged twice",
            &[(
                "",
                "A failed payment attempt can leave a pending authorisation on your card that looks like a second charge. It is released automatically within 7 days. If two payments have actually been taken, send us both references and we refund one.",
            )],
        ),
        article(
            "payments",
            "currency-vat",
            "Currencies, prices and VAT",
            &[(
                "",
                "Prices are shown in your local currency and include VAT for EU countries. Your bank may add a currency conversion fee for currencies other than the one of your card.",
            )],
        ),
        article(
            "payments",
            "invoices",
            "Getting a VAT invoice",
            &[(
                "",
                "Every order has an invoice you can download under Orders. For a company invoice with your VAT number, add the company details at checkout; invoices cannot be changed after the order ships.",
            )],
        ),
        // Accounts.
        article(
            "accounts",
            "create-account",
            "Creating an account",
            &[(
                "",
                "Choose Sign up at the top of the page and enter your email address and a password. An account keeps your orders, returns, addresses and loyalty points in one place. You can also check out as a guest.",
            )],
        ),
        article(
            "accounts",
            "reset-password",
            "Resetting your password",
            &[(
                "",
                "Choose Log in, then Forgot password, and enter your email address. We send a link to set a new password; it is valid for one hour. Check your spam folder if it does not arrive.",
            )],
        ),
        article(
            "accounts",
            "change-email",
            "Changing your email address",
            &[(
                "",
                "Go to Account settings and choose Change email. We send a confirmation link to the new address; your login changes once you confirm it.",
            )],
        ),
        article(
            "accounts",
            "delete-account",
            "Deleting your account",
            &[(
                "",
                "Go to Account settings and choose Delete account. Your account and personal data are erased within 30 days; orders are kept for our accounting as the law requires.",
            )],
        ),
        article(
            "accounts",
            "login-problems",
            "I cannot log in",
            &[(
                "",
                "Make sure you use the email address you signed up with. After five wrong passwords your account is locked for 15 minutes. If you signed up with Google or Apple, use that button to log in.",
            )],
        ),
        article(
            "accounts",
            "two-step",
            "Two-step verification",
            &[(
                "",
                "Turn on two-step verification under Account settings to get a code by text message or authenticator app whenever you log in on a new device.",
            )],
        ),
        article(
            "accounts",
            "saved-addresses",
            "Managing saved addresses",
            &[(
                "",
                "Add, edit or remove delivery and billing addresses under Account settings, Addresses. The default address is preselected at checkout.",
            )],
        ),
        article(
            "accounts",
            "newsletter",
            "Subscribing to or leaving the newsletter",
            &[(
                "",
                "Subscribe at the bottom of any page. To unsubscribe, use the link at the end of every newsletter or untick Newsletter under Account settings; it takes effect within 48 hours.",
            )],
        ),
        // Sizing, general.
        article(
            "sizing",
            "fit-advice",
            "How our clothes fit",
            &[(
                "",
                "Our clothes are true to size unless the product page says otherwise. Each product page shows the model's height and the size they wear, and the measurements of the item.",
            )],
        ),
        // Warranty, general.
        article(
            "warranty",
            "warranty-claim",
            "Making a warranty claim",
            &[(
                "",
                "Send us your order number, photos of the defect and a short description. If the defect is covered we repair or replace the item, or refund it if neither is possible. Shipping for warranty claims is free.",
            )],
        ),
        article(
            "warranty",
            "repairs",
            "Repairs after the warranty",
            &[(
                "",
                "Our repair service fixes zips, seams, soles and straps after the warranty ends, for a fixed price shown when you book the repair in your account.",
            )],
        ),
        // Gift cards.
        article(
            "gift-cards",
            "buy-gift-card",
            "Buying a gift card",
            &[(
                "",
                "Gift cards come from 10 to 500 EUR, as a printed card in a gift box or as an e-gift card sent by email on the date you choose.",
            )],
        ),
        article(
            "gift-cards",
            "gift-card-balance",
            "Checking your gift card balance",
            &[(
                "",
                "Enter the card number and PIN on the Gift cards page to see the balance. The balance is also printed on the receipt whenever you use the card in a store.",
            )],
        ),
        article(
            "gift-cards",
            "gift-card-expiry",
            "Do gift cards expire?",
            &[(
                "",
                "Gift cards are valid for 3 years from the date of purchase. The expiry date is shown with the balance.",
            )],
        ),
        article(
            "gift-cards",
            "use-gift-card",
            "Using a gift card",
            &[(
                "",
                "Enter the gift card number and PIN at checkout. You can combine up to three gift cards and pay the rest with another payment method. Gift cards work online and in our stores.",
            )],
        ),
        article(
            "gift-cards",
            "lost-gift-card",
            "Lost or stolen gift card",
            &[(
                "",
                "If you still have the order confirmation or receipt, contact us with it and we block the lost card and issue a new one with the remaining balance.",
            )],
        ),
        // Stores, general.
        article(
            "stores",
            "click-and-collect",
            "Click and collect",
            &[(
                "",
                "Choose a store at checkout to collect your order there for free. We email you when it is ready, usually within 2 business days; it is kept for 10 days.",
            )],
        ),
        article(
            "stores",
            "holiday-hours",
            "Store opening hours on public holidays",
            &[(
                "",
                "Stores close on 25 December, 1 January and Easter Sunday. On other public holidays they open from 11:00 to 17:00.",
            )],
        ),
        // Privacy.
        article(
            "privacy",
            "privacy-policy",
            "How we use your personal data",
            &[(
                "",
                "We use your personal data to deliver your orders, run your account and, if you agree, to send you the newsletter. We never sell your data. Our privacy policy lists every processor we work with.",
            )],
        ),
        article(
            "privacy",
            "data-request",
            "Requesting a copy of your data",
            &[(
                "",
                "Under the GDPR you can ask for a copy of the personal data we hold about you. Use the form under Account settings, Privacy; we send the file within 30 days.",
            )],
        ),
        article(
            "privacy",
            "cookies",
            "Cookies",
            &[(
                "",
                "We use necessary cookies to run the shop and, with your consent, analytics and advertising cookies. Change your choice at any time under Cookie settings at the bottom of the page.",
            )],
        ),
        article(
            "privacy",
            "card-security",
            "How we protect your payment details",
            &[(
                "",
                "Card details are entered on our payment provider's secure page and never stored on our servers. Every payment uses 3-D Secure.",
            )],
        ),
        // Discounts and loyalty.
        article(
            "discounts",
            "discount-codes",
            "Using a discount code",
            &[(
                "",
                "Enter the code in the Discount code field at checkout. One code can be used per order; codes cannot be applied to gift cards or to orders already placed.",
            )],
        ),
        article(
            "discounts",
            "student-discount",
            "Student discount",
            &[(
                "",
                "Students get 10% off full-price items. Verify your student status once through our partner and you get a code valid for 12 months.",
            )],
        ),
        article(
            "discounts",
            "loyalty-points",
            "Loyalty points",
            &[(
                "",
                "Members earn one point per euro spent. 200 points become a 10 EUR voucher. Points expire after 24 months without a purchase.",
            )],
        ),
        article(
            "discounts",
            "price-adjustment",
            "The price dropped after I ordered",
            &[(
                "",
                "If an item you bought goes on sale within 14 days of your order, we refund the difference once. Send us your order number and a link to the product.",
            )],
        ),
        // Products.
        article(
            "products",
            "gift-wrapping",
            "Gift wrapping and gift messages",
            &[(
                "",
                "Add gift wrapping for 3.50 EUR per order at checkout and write a gift message; prices are not shown on the packing slip.",
            )],
        ),
        article(
            "products",
            "engraving",
            "Personalisation and engraving",
            &[(
                "",
                "Watches, wallets and some jewellery can be engraved with up to 20 characters for 15 EUR. Personalised items ship 2 days later and cannot be returned.",
            )],
        ),
        article(
            "products",
            "sustainability",
            "Our materials and sustainability",
            &[(
                "",
                "Most of our cotton is organic, our down is certified responsibly sourced and we ship in recycled cardboard without plastic.",
            )],
        ),
        article(
            "products",
            "reviews",
            "Writing a product review",
            &[(
                "",
                "We email you a link to review your items two weeks after delivery. Reviews are published within 48 hours unless they break our review guidelines.",
            )],
        ),
        article(
            "products",
            "care-labels",
            "Reading care labels",
            &[(
                "",
                "The symbols on the care label show the highest washing temperature, whether the item can be tumble dried, ironed or bleached, and whether it must be dry cleaned.",
            )],
        ),
        article(
            "discounts",
            "newsletter-discount",
            "Newsletter welcome discount",
            &[(
                "",
                "New newsletter subscribers get a 10% welcome code by email, valid for 30 days on full-price items.",
            )],
        ),
        article(
            "products",
            "recycling",
            "Recycling your old clothes",
            &[(
                "",
                "Bring clothes of any brand to one of our stores for recycling and get a 5 EUR voucher for every bag, up to one bag a day.",
            )],
        ),
    ];
    for (name, slug, min, max, customs) in COUNTRIES {
        let plain = name.trim_start_matches("the ");
        all.push(article(
            "shipping",
            &format!("shipping-to-{slug}"),
            &format!("Shipping to {plain}"),
            &[
                ("Shipping times", &format!("Standard shipping to {name} takes {min} to {max} business days after dispatch. Express shipping takes {} to {} business days.", (min / 2).max(1), (max / 2).max(2))),
                ("Costs", &format!("Standard shipping to {name} is free over the free shipping threshold; below it the standard rate applies. Express shipping is available at checkout.")),
                ("Customs and duties", &format!("For orders to {name}: {customs}.")),
            ],
        ));
    }
    for (city, slug, street, services) in CITIES {
        all.push(article(
            "stores",
            &format!("store-{slug}"),
            &format!("Our {city} store"),
            &[
                ("Address and opening hours", &format!("Find us at {street}, {city}. Open Monday to Saturday 10:00 to 20:00, Sunday 12:00 to 18:00.")),
                ("Services", &format!("Our {city} store offers {services}. Returns of online orders are accepted.")),
            ],
        ));
    }
    for (what, slug, advice) in SIZE_GUIDES {
        all.push(article(
            "sizing",
            &format!("size-guide-{slug}"),
            &format!("Size guide for {what}"),
            &[("", advice)],
        ));
    }
    for (what, slug, advice) in MATERIALS {
        all.push(article(
            "care",
            &format!("care-{slug}"),
            &format!("Caring for {what}"),
            &[("", advice)],
        ));
    }
    for (what, slug, years, covers) in WARRANTIES {
        all.push(article(
            "warranty",
            &format!("warranty-{slug}"),
            &format!("Warranty on {what}"),
            &[("", &format!("Our {what} come with a {years}-year warranty from the date of delivery. It covers {covers}. Keep your order number: it is your proof of purchase."))],
        ));
    }
    all
}

/// A customer question: the article slugs that answer it (any of them is right), or none.
pub struct Question {
    pub text: &'static str,
    pub answers: &'static [&'static str],
}

const fn q(text: &'static str, answers: &'static [&'static str]) -> Question {
    Question { text, answers }
}

pub const QUESTIONS: &[Question] = &[
    // From the issue.
    q(
        "Where is my order 1234? It should have arrived last week.",
        &["tracking"],
    ),
    q(
        "How long does shipping take to Portugal?",
        &["shipping-to-portugal"],
    ),
    // Shipping.
    q(
        "hi, how many days does delivery to spain usually take??",
        &["shipping-to-spain"],
    ),
    q(
        "Do you ship to Brazil and will I have to pay import taxes there?",
        &["shipping-to-brazil"],
    ),
    q("how much is postage", &["shipping-costs"]),
    q(
        "Is there free shipping if i spend enough?",
        &["shipping-costs"],
    ),
    q(
        "I ordered yesterday, when will it be sent out?",
        &["shipping-times"],
    ),
    q(
        "my tracking number doesnt work, it shows nothing",
        &["tracking"],
    ),
    q(
        "The parcel says delivered but its not here. What now",
        &["tracking"],
    ),
    q("Can you deliver to a parcel locker?", &["po-box"]),
    q(
        "I moved house, can I change the adress on my order",
        &["change-address"],
    ),
    q(
        "box came completely crushed and the jacket inside is dirty",
        &["damaged-parcel"],
    ),
    q("do you do next day express delivery", &["shipping-times"]),
    q(
        "Shipping to the US - do I pay customs duties?",
        &["shipping-to-united-states"],
    ),
    q(
        "how long for delivery to switzerland and are there extra fees at the door",
        &["shipping-to-switzerland"],
    ),
    q("Do you deliver to Japan?", &["shipping-to-japan"]),
    q(
        "Hello! Ordering from Ireland, how quickly will my package get here",
        &["shipping-to-ireland"],
    ),
    // Orders.
    q(
        "I need to cancel my order, I ordered the wrong thing",
        &["change-cancel-order"],
    ),
    q(
        "can i change the size on an order i placed 10 minutes ago",
        &["change-cancel-order"],
    ),
    q(
        "never got a confirmation email for my purchase",
        &["confirmation-email"],
    ),
    q(
        "Can I add another shirt to the order I already placed?",
        &["add-items"],
    ),
    q(
        "the black boots are sold out, will you restock them?",
        &["back-in-stock"],
    ),
    q(
        "one of the items from my order is missing, only got 2 out of 3",
        &["missing-item"],
    ),
    q(
        "you sent me the wrong item, I ordered a blue sweater and got a red one",
        &["wrong-item"],
    ),
    q("When does a pre-order ship?", &["pre-orders"]),
    // Returns and refunds.
    q("How do I return something?", &["how-to-return"]),
    q(
        "whats your return policy, how many days do I have",
        &["how-to-return"],
    ),
    q("Do I have to pay for the return label?", &["return-label"]),
    q(
        "Can I return the trousers to your shop instead of posting them?",
        &["return-in-store"],
    ),
    q(
        "I got a sweater as a present and it doesnt fit, can I return it without the receipt?",
        &["return-gift", "exchanges"],
    ),
    q(
        "I want to swap these jeans for a bigger size",
        &["exchanges"],
    ),
    q("can I send back swimwear?", &["non-returnable"]),
    q(
        "I returned my shoes two weeks ago, when do I get my money back?",
        &["refund-time"],
    ),
    q(
        "The refund still isn't on my card statement",
        &["refund-time", "refund-method"],
    ),
    q(
        "will the refund go to paypal or as store credit?",
        &["refund-method"],
    ),
    q(
        "do you refund the shipping cost when I return everything",
        &["shipping-refund"],
    ),
    q(
        "I cancelled my order but the money is still blocked on my account",
        &["cancelled-order-refund"],
    ),
    // Payments.
    q(
        "Which payment methods do you take? Amex?",
        &["payment-methods"],
    ),
    q("can i pay in 3 instalments with klarna", &["klarna"]),
    q(
        "My card keeps getting declined at checkout",
        &["payment-declined"],
    ),
    q(
        "I've been charged twice for the same order!",
        &["charged-twice"],
    ),
    q("Are prices including VAT?", &["currency-vat"]),
    q(
        "I need an invoice with my company VAT number",
        &["invoices"],
    ),
    q("can I pay with apple pay", &["payment-methods"]),
    // Accounts.
    q(
        "forgot my password and the reset email never arrives",
        &["reset-password"],
    ),
    q(
        "how do i delete my account and all my data",
        &["delete-account", "data-request"],
    ),
    q(
        "I can't log in, it says my account is locked",
        &["login-problems"],
    ),
    q(
        "How can I change the email address on my account?",
        &["change-email"],
    ),
    q(
        "please unsubscribe me from your newsletter",
        &["newsletter"],
    ),
    q(
        "Do I need an account to order or can I check out as guest?",
        &["create-account"],
    ),
    q("how to set up two factor authentication", &["two-step"]),
    // Sizing and care.
    q(
        "What size shoe should I get, I'm between a 41 and 42",
        &["size-guide-shoes"],
    ),
    q(
        "How do I measure my ring size at home?",
        &["size-guide-rings"],
    ),
    q(
        "do your dresses run small?",
        &["fit-advice", "size-guide-dresses"],
    ),
    q("jeans sizes - what does 32/34 mean", &["size-guide-jeans"]),
    q(
        "How do I wash my cashmere jumper without ruining it",
        &["care-cashmere"],
    ),
    q(
        "can leather boots go in the washing machine",
        &["care-leather"],
    ),
    q(
        "what size for my 6 year old daughter, she is 120cm",
        &["size-guide-kids"],
    ),
    // Warranty.
    q(
        "The zip on my bag broke after 8 months, is that covered by warranty?",
        &["warranty-bags"],
    ),
    q(
        "my headphones stopped working, how do I make a warranty claim?",
        &["warranty-claim", "warranty-headphones"],
    ),
    q(
        "how long is the guarantee on watches",
        &["warranty-watches"],
    ),
    q(
        "Can you repair my boots? the sole is coming off and they're 3 years old",
        &["repairs", "warranty-shoes"],
    ),
    // Gift cards and discounts.
    q(
        "how do I check the balance on my gift card",
        &["gift-card-balance"],
    ),
    q("does a giftcard expire", &["gift-card-expiry"]),
    q("Can I use two gift cards on one order?", &["use-gift-card"]),
    q("I lost the gift card my mum gave me", &["lost-gift-card"]),
    q("do you have a student discount?", &["student-discount"]),
    q(
        "my discount code isn't working at checkout",
        &["discount-codes"],
    ),
    q(
        "The coat I bought last week is now on sale, can I get the difference back?",
        &["price-adjustment"],
    ),
    q(
        "How many loyalty points do I need for a voucher?",
        &["loyalty-points"],
    ),
    // Stores.
    q(
        "What are the opening hours of the Berlin store?",
        &["store-berlin"],
    ),
    q(
        "Is there a shop in Lisbon? where exactly",
        &["store-lisbon"],
    ),
    q("are your stores open on easter sunday", &["holiday-hours"]),
    q(
        "Can I order online and pick it up in store?",
        &["click-and-collect"],
    ),
    q("does the london store do alterations", &["store-london"]),
    // Privacy and products.
    q(
        "Do you sell my personal data to third parties?",
        &["privacy-policy"],
    ),
    q(
        "I want a copy of all the data you have on me (GDPR)",
        &["data-request"],
    ),
    q(
        "can I get my order gift wrapped with a message",
        &["gift-wrapping"],
    ),
    q("can you engrave a name on a watch", &["engraving"]),
    q("Do you store my credit card details?", &["card-security"]),
    // Typos and several questions in one message.
    q("how long does a refnud take", &["refund-time"]),
    q(
        "Can I retrun an item I bought on sale? And how long do I have?",
        &["how-to-return"],
    ),
    q(
        "Hi there. Quick question, what are your shiping costs to Germany? Thanks, Anna",
        &["shipping-to-germany", "shipping-costs"],
    ),
    q(
        "hello, my pasword reset link is expired, also can I change my email",
        &["reset-password", "change-email"],
    ),
    // Nothing in the Help Center answers these.
    q("Are you hiring? I'd like to apply for a job", &[]),
    q("Do you sponsor local football teams?", &[]),
    q("Who is your CEO?", &[]),
    q("Can I sell my own designs through your website?", &[]),
    q("Is the blue linen shirt made in Portugal?", &[]),
    q("What's the weather like in Lisbon today?", &[]),
    q("Do you offer wholesale prices for boutiques?", &[]),
    q("My dog ate the receipt lol", &[]),
    q("Will you open a store in Tokyo?", &[]),
    q("Can I bring my cat into the store?", &[]),
    q("Do you have any vegan leather bags?", &[]),
    q("are you a publicly traded company", &[]),
    q(
        "Can I get the recipe for the cookies you had at the store event?",
        &[],
    ),
    q("Is there parking near your stores?", &[]),
    q("do you do price matching with amazon", &[]),
    q(
        "What music do you play in the shop? I loved the playlist",
        &[],
    ),
    q("Can I become an affiliate or influencer partner?", &[]),
    q("Do you rent tuxedos for weddings?", &[]),
    q(
        "I'd like to donate fabric to a school project, who can I contact?",
        &[],
    ),
    q(
        "Is the factory that makes your shoes audited for working conditions?",
        &[],
    ),
    q("When is black friday this year", &[]),
    q("hello?", &[]),
    q("Can you recommend a good tailor in Madrid?", &[]),
    q("Do you have an app for iPhone?", &[]),
];
