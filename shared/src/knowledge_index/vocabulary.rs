//! The general English the retrieval index reads customers with: words that carry no topic
//! (stop words), and the customer-support vocabulary that names one thing several ways
//! (synonyms, set phrases, British and American spellings, irregular verbs). Nothing here is
//! about one shop: it is what any store's customers write.

/// Words that say nothing about what a message is about: the usual English stop words
/// (pronouns, auxiliaries, prepositions, conjunctions, quantifiers), number words (numbers are
/// dropped too), greetings and politeness, chat fillers, everyday verbs that any request
/// carries ("get", "come", "say", "want"), and the people customers mention ("my mum").
pub const STOPWORDS: &str = "
    i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves this that these
    those a an the what whats which who whom whose someone somebody anyone anybody everyone
    everybody something anything everything nothing thing things stuff one ones
    am is are was were be been being have has had having do does did doing done can could will
    would shall should may might must ought cannot cant couldn didn didnt doesn doesnt don dont
    hadn hasn hasnt haven havent isn isnt wasn wasnt weren won wont wouldn shouldn aren ain im
    ive id ll ve re s t m d
    about above across after against along among around as at before behind below beside between
    beyond by down during except for from in inside into near of off on onto out outside over
    past since through till to toward towards under until up upon with within without and but or
    nor so if then than because though although while whether else either neither also instead
    anyway however
    how when where why there here no not never yes all any both each every few more most much
    many lot lots bit some such only own same other another again once too very just quite
    rather really even ever still yet already maybe perhaps probably actually exactly usually
    enough able sure possible way further completely totally absolutely entirely literally
    honestly basically simply definitely certainly seriously
    two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred
    thousand
    now today tonight yesterday tomorrow ago soon currently recently last morning afternoon
    evening
    hello hi hiya hey dear please pls plz thank thanks thx cheers regards kind kindly sorry ok
    okay yeah yep lol great good nice lovely love loved like liked hate hated happy glad guys
    question wondering wonder
    get gets getting got gotten go goes going went gone come comes coming came say says said
    tell told ask asked asking want wants wanted need needs needed know knew think thought see
    saw seen look looks looking looked seem seems try tried trying let help put puts bring
    brings brought bringing take takes took taken taking
    mum mom mother dad father wife husband boyfriend girlfriend friend friends sister brother
    grandma grandmother grandpa grandfather aunt uncle cousin colleague
";

/// Customer words and the word help articles use for the same thing. Both sides are stemmed
/// when the table is loaded, and the table applies to articles and questions alike, so a word
/// with two meanings in the articles must not be listed.
pub const SYNONYMS: &[(&str, &str)] = &[
    // Shipping and parcels.
    ("package", "parcel"),
    ("postage", "shipping"),
    ("send", "ship"),
    ("sent", "ship"),
    ("mail", "email"),
    ("emailed", "email"),
    // Orders and buying.
    ("purchase", "order"),
    ("bought", "order"),
    ("buy", "order"),
    ("buying", "order"),
    // Money.
    ("money", "refund"),
    ("reimburse", "refund"),
    ("reimbursement", "refund"),
    ("cost", "price"),
    ("fee", "price"),
    ("charge", "price"),
    ("expensive", "price"),
    ("cheap", "price"),
    ("paid", "pay"),
    ("installment", "instalment"),
    ("coupon", "discount"),
    ("promo", "discount"),
    // Returns and exchanges.
    ("swap", "exchange"),
    ("present", "gift"),
    ("gifted", "gift"),
    // Defects.
    ("broken", "damaged"),
    ("broke", "damaged"),
    ("faulty", "defect"),
    ("fault", "defect"),
    ("defective", "defect"),
    ("incorrect", "wrong"),
    ("mistake", "wrong"),
    ("guarantee", "warranty"),
    ("guaranteed", "warranty"),
    ("late", "delay"),
    ("delayed", "delay"),
    ("fix", "repair"),
    ("fixed", "repair"),
    ("mend", "repair"),
    // Accounts.
    ("login", "log"),
    ("logon", "log"),
    ("signin", "log"),
    ("passwd", "password"),
    ("register", "signup"),
    ("registration", "signup"),
    ("authentication", "verification"),
    ("authenticate", "verification"),
    ("gdpr", "data"),
    ("unsubscribe", "subscribe"),
    // Stores.
    ("shop", "store"),
    ("outlet", "store"),
    ("branch", "store"),
    ("location", "store"),
    ("christmas", "holiday"),
    ("xmas", "holiday"),
    // Sizes and fit.
    ("fit", "size"),
    ("fits", "size"),
    ("fitting", "size"),
    ("bigger", "size"),
    ("smaller", "size"),
    ("larger", "size"),
    ("tighter", "size"),
    ("looser", "size"),
    ("sizing", "size"),
    // Clothes, the way customers and articles name them.
    ("sweater", "jumper"),
    ("pullover", "jumper"),
    ("sweatshirt", "jumper"),
    ("pants", "trousers"),
    ("boot", "shoe"),
    ("boots", "shoe"),
    ("sandal", "shoe"),
    ("heels", "shoe"),
    ("trainer", "sneaker"),
    ("trainers", "sneaker"),
    ("jewelry", "jewellery"),
    ("kid", "child"),
    ("kids", "child"),
    ("children", "child"),
    ("daughter", "child"),
    ("son", "child"),
    ("toddler", "child"),
    ("baby", "child"),
    ("laundry", "wash"),
    ("launder", "wash"),
    ("shrunk", "shrink"),
    ("shrank", "shrink"),
    // Colours.
    ("color", "colour"),
    ("colors", "colour"),
    ("black", "colour"),
    ("white", "colour"),
    ("red", "colour"),
    ("blue", "colour"),
    ("green", "colour"),
    ("yellow", "colour"),
    ("pink", "colour"),
    ("purple", "colour"),
    ("orange", "colour"),
    ("brown", "colour"),
    ("grey", "colour"),
    ("gray", "colour"),
    ("beige", "colour"),
    ("navy", "colour"),
    // Time.
    ("long", "time"),
    ("quick", "time"),
    ("quickly", "time"),
    ("fast", "time"),
    ("day", "time"),
    ("days", "time"),
    ("week", "time"),
    ("weeks", "time"),
    // British and American spellings.
    ("personalized", "personalised"),
    ("personalize", "personalise"),
    ("personalization", "personalisation"),
    ("authorization", "authorisation"),
    ("center", "centre"),
    ("catalog", "catalogue"),
    ("canceled", "cancelled"),
    ("canceling", "cancelling"),
    // Countries as customers write them.
    ("usa", "unitedstates"),
    ("america", "unitedstates"),
    ("uk", "unitedkingdom"),
    ("britain", "unitedkingdom"),
    ("england", "unitedkingdom"),
    ("holland", "netherlands"),
];

/// Customer phrases rewritten before the words are split (whole words only, in this order).
pub const PHRASES: &[(&str, &str)] = &[
    ("where is my order", "track order"),
    ("where s my order", "track order"),
    ("where is my parcel", "track parcel"),
    ("where s my parcel", "track parcel"),
    ("where is my package", "track parcel"),
    ("where s my package", "track parcel"),
    ("hasn t arrived", "arrived"),
    ("has not arrived", "arrived"),
    ("didn t arrive", "arrived"),
    ("did not arrive", "arrived"),
    ("never arrived", "arrived"),
    ("never came", "arrived"),
    ("not here", "arrived"),
    ("isn t here", "arrived"),
    ("not received", "arrived"),
    ("never received", "arrived"),
    ("haven t received", "arrived"),
    ("didn t receive", "arrived"),
    ("did not receive", "arrived"),
    ("still waiting for", "arrived"),
    ("return policy", "return"),
    ("returns policy", "return"),
    ("refund policy", "refund"),
    ("send back", "return"),
    ("send it back", "return"),
    ("send them back", "return"),
    ("sent back", "return"),
    ("sent it back", "return"),
    ("take back", "return"),
    ("bring back", "return"),
    ("give back", "return"),
    ("money back", "refund"),
    ("pick up", "collect"),
    ("pick it up", "collect"),
    ("pick them up", "collect"),
    ("picked up", "collect"),
    ("sent out", "dispatched"),
    ("send out", "dispatch"),
    ("how much", "price"),
    ("deliver to", "ship to"),
    ("delivering to", "shipping to"),
    ("delivery to", "shipping to"),
    ("deliveries to", "shipping to"),
    ("get here", "arrive"),
    ("too big", "size"),
    ("too small", "size"),
    ("too tight", "size"),
    ("too loose", "size"),
    ("too short", "size"),
    ("run small", "size"),
    ("runs small", "size"),
    ("run large", "size"),
    ("runs large", "size"),
    ("run big", "size"),
    ("runs big", "size"),
    ("true to size", "size"),
    ("moved house", "address"),
    ("moving house", "address"),
    ("close my account", "delete account"),
    ("bank holiday", "public holiday"),
    ("opening times", "opening hours"),
    ("promo code", "discount code"),
    ("voucher code", "discount code"),
    ("coupon code", "discount code"),
    ("gift voucher", "gift card"),
    ("gift certificate", "gift card"),
    ("giftcard", "gift card"),
    ("amex", "american express"),
    ("the us", "unitedstates"),
    ("the states", "unitedstates"),
    ("united states", "unitedstates"),
    ("united kingdom", "unitedkingdom"),
    ("the uk", "unitedkingdom"),
    ("great britain", "unitedkingdom"),
    ("log in", "login"),
    ("logged in", "login"),
    ("sign in", "login"),
    ("signed in", "login"),
    ("sign up", "signup"),
    ("signed up", "signup"),
    ("two factor", "two step"),
    ("2fa", "two step"),
    ("e mail", "email"),
];
