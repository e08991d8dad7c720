//! The retrieval index the knowledge agent answers from: passages (a markdown section, or a
//! section of a Help Center article) ranked with BM25 over lightly stemmed words, with a title
//! boost, one-typo tolerance for longer words and the general customer vocabulary of
//! `knowledge_index/vocabulary.rs` (stop words, synonyms, set phrases).
//!
//! On top of BM25:
//! - a passage scores more the more of its article's title the question asks about;
//! - articles written from one title template ("Shipping to Japan", "Our Lisbon store") form a
//!   family: one of them answers only a question that names its subject and asks about the
//!   family's matter, and the family counts as one document for idf;
//! - a word the index does not know weighs in coverage like the rarest word (in an index that
//!   knows enough words to tell), so a question about something else is not "covered" by the
//!   one shop word it shares.
//!
//! Document frequencies, lengths and families are computed once, when the index is built (at
//! sync time); the index is plain serde JSON, so a worker loads it once per cold start and only
//! scores.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

mod vocabulary;

use vocabulary::{PHRASES, STOPWORDS, SYNONYMS};

/// Bumped whenever the index layout or the analysis (stemming, synonyms) changes, so an index
/// built by another version is rebuilt rather than misread.
pub const INDEX_FORMAT: u32 = 2;

/// BM25 parameters (the usual ones).
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// A title word counts this many times a body word.
const TITLE_BOOST: f64 = 3.0;
/// A query word matched only through a one-letter typo counts this much.
const TYPO_WEIGHT: f64 = 0.7;
/// A word the index does not know weighs at least this share of the rarest word's idf in
/// coverage, growing to the full idf in an index that knows 500 words (`KNOWN_VOCABULARY`).
pub const UNKNOWN_WORD_WEIGHT: f64 = 0.35;
const KNOWN_VOCABULARY: f64 = 500.0;
/// Articles written from one title template form a family when there are at least this many.
const FAMILY_SIZE: usize = 3;
/// A family's subject is a name when some word of it is held by at most this many articles.
const NAME_ARTICLES: usize = 4;
/// Words this long (in letters) may match the vocabulary with one edit.
const TYPO_MIN_LEN: usize = 5;

/// The shipped answer rule (measured by `cargo run -p deskmate-shared --example
/// knowledge_bench`): the best passage must score at least this much…
pub const MIN_SCORE: f64 = 1.0;
/// …match at least this share of the query's informative weight (idf of its words, unknown
/// words included)…
pub const MIN_COVERAGE: f64 = 0.4;
/// …and beat by this factor the best passage of any other topic that matches about as much of
/// the question (its coverage at most [`MARGIN_COVERAGE_SLACK`] below).
pub const MIN_MARGIN: f64 = 1.4;
pub const MARGIN_COVERAGE_SLACK: f64 = 0.1;

/// What a passage is made of: a title, its text, and where a customer can read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passage {
    pub title: String,
    pub text: String,
    /// The article's public URL (`html_url`); none for a markdown section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Passages of one topic (one article, one markdown section) share it; the margin rule
    /// compares the best passage with the best of another topic.
    pub topic: String,
}

/// A built index: the passages and their term statistics.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KnowledgeIndex {
    pub format: u32,
    passages: Vec<Passage>,
    /// term -> (passage, weighted term frequency), one entry per passage holding the term.
    postings: BTreeMap<String, Vec<(u32, f32)>>,
    /// Weighted length of each passage.
    lengths: Vec<f32>,
    average_length: f64,
    /// The distinct terms of each passage's article title (the part before " › ").
    #[serde(default)]
    titles: Vec<Vec<String>>,
    /// Families of articles written from one title template ("Shipping to …", "Our … store").
    #[serde(default)]
    families: Vec<Family>,
    /// For each passage of a family's article: the family and the terms of the article's own
    /// part of the title (the country, the city, the product).
    #[serde(default)]
    members: Vec<Option<Member>>,
    /// Document frequencies for idf, counting a family's passages as one document (a hundred
    /// "Shipping to …" pages do not make "shipping" a common word), and the document count.
    /// (Defaults let an index of an older format load, to be found out by its `format`.)
    #[serde(default)]
    frequencies: BTreeMap<String, u32>,
    #[serde(default)]
    documents: u32,
}

/// A scored passage.
#[derive(Clone, Debug)]
pub struct Hit<'a> {
    pub passage: &'a Passage,
    pub score: f64,
    /// The share of the query's informative weight this passage matched.
    pub coverage: f64,
}

/// The outcome of a search under the answer rule.
#[derive(Clone, Debug)]
pub enum Verdict<'a> {
    /// This passage answers the question.
    Answer(Hit<'a>),
    /// Nothing matches well enough, or two topics match alike; `best` is the closest passage.
    NoMatch { best: Option<Hit<'a>> },
}

/// A light English stemmer (a small Porter-like rule set): plurals, -ing, -ed, -ly, -ation,
/// -ment, -ness, final -e and -y, and doubled final consonants.
pub fn stem(word: &str) -> String {
    let mut w: String = word.to_lowercase();
    if let Some(s) = w.strip_suffix("'s") {
        w = s.to_owned();
    }
    let len = |s: &str| s.chars().count();
    let has_vowel = |s: &str| s.chars().any(|c| "aeiouy".contains(c));
    if len(&w) <= 2 {
        return w;
    }
    // Plurals.
    if len(&w) > 3 {
        if let Some(s) = w.strip_suffix("sses") {
            w = format!("{s}ss");
        } else if let Some(s) = w.strip_suffix("ies") {
            if len(s) >= 2 {
                w = format!("{s}y");
            }
        } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is")
        {
            w.pop();
        }
    }
    // Endings of verbs and adverbs; each keeps a stem of three letters with a vowel, or of two
    // for a short verb ("used", "using" -> "us", as "use" is).
    let mut stripped = false;
    for suffix in ["ingly", "edly", "ing", "ed", "ly"] {
        if let Some(s) = w.strip_suffix(suffix)
            && has_vowel(s)
            && (len(s) >= 3 || (len(s) == 2 && suffix.len() <= 3 && !s.ends_with('e')))
        {
            w = s.to_owned();
            stripped = true;
            break;
        }
    }
    if stripped {
        let chars: Vec<char> = w.chars().collect();
        let n = chars.len();
        if n >= 4 && chars[n - 1] == chars[n - 2] && !"aeiousz".contains(chars[n - 1]) {
            w.pop();
        }
    }
    for suffix in ["ational", "ation", "ment", "ness", "ful"] {
        if let Some(s) = w.strip_suffix(suffix)
            && (len(s) >= 4 || (suffix == "ment" && len(s) == 3 && has_vowel(s)))
        {
            w = s.to_owned();
            let chars: Vec<char> = w.chars().collect();
            let n = chars.len();
            if chars[n - 1] == chars[n - 2] && !"aeiousz".contains(chars[n - 1]) {
                w.pop();
            }
            break;
        }
    }
    if (len(&w) >= 3 && w.ends_with('e')) || (len(&w) > 3 && w.ends_with('y')) {
        w.pop();
    }
    w
}

/// The index terms of `text`: lowercased words without stop words or numbers, stemmed, with
/// customer phrases and synonyms mapped to the articles' words.
pub fn analyse(text: &str) -> Vec<String> {
    let mut words: String = text
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .fold(String::from(" "), |mut acc, word| {
            acc.push_str(word);
            acc.push(' ');
            acc
        });
    for (phrase, replacement) in PHRASES {
        let pattern = format!(" {phrase} ");
        if words.contains(&pattern) {
            words = words.replace(&pattern, &format!(" {replacement} "));
        }
    }
    let vocabulary = vocabulary_tables();
    let mut terms = Vec::new();
    // What follows "instead of" / "rather than" is what the customer does not ask about.
    let mut skip_next = false;
    let mut previous = "";
    for word in words.split_whitespace() {
        let instead = matches!((previous, word), ("instead", "of") | ("rather", "than"));
        previous = word;
        if instead {
            skip_next = true;
            continue;
        }
        if word.chars().count() <= 1
            || word.chars().any(|c| c.is_ascii_digit())
            || vocabulary.stopwords.contains(word)
        {
            continue;
        }
        if std::mem::take(&mut skip_next) {
            continue;
        }
        let stemmed = stem(word);
        terms.push(match vocabulary.synonyms.get(&stemmed) {
            Some(canonical) => canonical.clone(),
            None => stemmed,
        });
    }
    terms
}

struct VocabularyTables {
    stopwords: HashSet<&'static str>,
    /// Stem of a customer word -> stem of the article word.
    synonyms: HashMap<String, String>,
}

fn vocabulary_tables() -> &'static VocabularyTables {
    static TABLES: std::sync::OnceLock<VocabularyTables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| VocabularyTables {
        stopwords: STOPWORDS.split_whitespace().collect(),
        synonyms: SYNONYMS
            .iter()
            .map(|(customer, article)| (stem(customer), stem(article)))
            .filter(|(customer, article)| customer != article)
            .collect(),
    })
}

/// True when `a` and `b` are one insertion, deletion, substitution or transposition apart.
fn one_edit_apart(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if a.len() == b.len() {
        let suffix_equal = |from: usize| a[from..] == b[from..];
        // Substitution, or a transposition of two neighbours.
        suffix_equal(prefix + 1)
            || (prefix + 1 < a.len()
                && a[prefix] == b[prefix + 1]
                && a[prefix + 1] == b[prefix]
                && suffix_equal(prefix + 2))
    } else {
        let (long, short) = if a.len() > b.len() {
            (&a, &b)
        } else {
            (&b, &a)
        };
        long[prefix + 1..] == short[prefix..]
    }
}

/// Splits a markdown file into passages, one per `#` section (text before the first heading
/// is a passage of its own when it is not empty).
pub fn markdown_passages(markdown: &str) -> Vec<Passage> {
    let mut passages = Vec::new();
    let mut title = String::new();
    let mut body = String::new();
    let mut flush = |title: &str, body: &str| {
        let body = body.trim();
        if !body.is_empty() {
            passages.push(Passage {
                title: title.to_owned(),
                text: body.to_owned(),
                url: None,
                topic: format!("markdown:{title}"),
            });
        }
    };
    for line in markdown.lines() {
        if let Some(heading) = line.strip_prefix('#') {
            flush(&title, &body);
            title = heading.trim_start_matches('#').trim().to_owned();
            body.clear();
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    flush(&title, &body);
    passages
}

/// Splits a Help Center article into passages: one per `<h2>`/`<h3>` section (titled
/// "Article › Section"), or the whole article when it has no headings. `html_url` is cited;
/// `topic` groups articles for the margin rule (the Help Center section they are filed in).
pub fn article_passages(title: &str, body_html: &str, html_url: &str, topic: &str) -> Vec<Passage> {
    let mut passages = Vec::new();
    let mut heading: Option<String> = None;
    let mut text = String::new();
    let mut flush = |heading: &Option<String>, text: &str| {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        passages.push(Passage {
            title: match heading {
                Some(heading) => format!("{title} › {heading}"),
                None => title.to_owned(),
            },
            text: text.to_owned(),
            url: Some(html_url.to_owned()),
            topic: format!("section:{topic}"),
        });
    };
    for block in html_blocks(body_html) {
        match block {
            Block::Heading(h) => {
                flush(&heading, &text);
                heading = Some(h);
                text.clear();
            }
            Block::Text(t) => {
                text.push_str(&t);
                text.push('\n');
            }
        }
    }
    flush(&heading, &text);
    passages
}

enum Block {
    Heading(String),
    Text(String),
}

fn html_blocks(html: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    let mut in_heading = false;
    let mut skipping: Option<String> = None;
    let mut rest = html;
    let push_current = |current: &mut String, blocks: &mut Vec<Block>, heading: bool| {
        let text = decode_entities(current)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() {
            blocks.push(if heading {
                Block::Heading(text)
            } else {
                Block::Text(text)
            });
        }
        current.clear();
    };
    while let Some(open) = rest.find('<') {
        if skipping.is_none() {
            current.push_str(&rest[..open]);
        }
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim().to_ascii_lowercase();
        rest = &rest[open + close + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if let Some(skipped) = &skipping {
            if closing && &name == skipped {
                skipping = None;
            }
            continue;
        }
        match name.as_str() {
            "script" | "style" if !closing => skipping = Some(name),
            "h1" | "h2" | "h3" | "h4" => {
                push_current(&mut current, &mut blocks, in_heading);
                in_heading = !closing;
            }
            "p" | "div" | "br" | "ul" | "ol" | "table" | "tr" | "blockquote" | "section" => {
                push_current(&mut current, &mut blocks, in_heading);
            }
            "li" => {
                push_current(&mut current, &mut blocks, in_heading);
                if !closing {
                    current.push_str("- ");
                }
            }
            "td" | "th" => current.push(' '),
            _ => {}
        }
    }
    if skipping.is_none() {
        current.push_str(rest);
    }
    push_current(&mut current, &mut blocks, in_heading);
    blocks
}

fn decode_entities(text: &str) -> String {
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&rsquo;", "'")
        .replace("&lsquo;", "'")
        .replace("&ldquo;", "\"")
        .replace("&rdquo;", "\"")
        .replace("&ndash;", "–")
        .replace("&mdash;", "—")
        .replace("&euro;", "€")
        .replace("&amp;", "&")
}

/// A family's article: the family, and the terms of the article's own part of the title.
type Member = (u32, Vec<String>);

/// The article's title in a passage's title ("Article › Section").
fn article_title(title: &str) -> &str {
    title.split(" › ").next().unwrap_or(title)
}

/// Articles whose titles follow one template, "Shipping to Japan", "Shipping to Brazil", ….
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Family {
    /// The template's own terms ("ship").
    template: Vec<String>,
    /// The terms at least half of the family's articles hold ("ship", "customs", "express").
    common: Vec<String>,
    /// The terms of every article's own part of the title ("japan", "brazil").
    subjects: Vec<String>,
}

/// Families of articles whose titles follow one template: at least [`FAMILY_SIZE`] articles
/// whose titles share two or more words and differ in one span of at most four words that names
/// something few articles mention ("Shipping to Japan", "Shipping to the United States"; not
/// "Buying a gift card", "Using a gift card"). `held` is each passage's terms. Returns the
/// families and, per passage, its family and the terms of its title's span.
fn families(passages: &[Passage], held: &[HashSet<String>]) -> (Vec<Family>, Vec<Option<Member>>) {
    // Articles: the passages sharing a URL (a markdown section is an article of its own).
    let mut articles: Vec<(String, Vec<usize>)> = Vec::new();
    let mut by_url: HashMap<&str, usize> = HashMap::new();
    for (i, passage) in passages.iter().enumerate() {
        let title = article_title(&passage.title);
        let article = match passage.url.as_deref() {
            Some(url) => *by_url.entry(url).or_insert_with(|| {
                articles.push((title.to_owned(), Vec::new()));
                articles.len() - 1
            }),
            None => {
                articles.push((title.to_owned(), Vec::new()));
                articles.len() - 1
            }
        };
        articles[article].1.push(i);
    }
    let words = |title: &str| -> Vec<String> {
        title
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    // Every (prefix, suffix) template of each title, with the span it leaves out.
    let templates = |title: &[String]| {
        let n = title.len();
        let mut out = Vec::new();
        for start in 0..n {
            for end in start + 1..=n.min(start + 4) {
                if start + (n - end) >= 2 {
                    out.push((
                        (title[..start].join(" "), title[end..].join(" ")),
                        title[start..end].join(" "),
                    ));
                }
            }
        }
        out
    };
    let titles: Vec<Vec<String>> = articles.iter().map(|(title, _)| words(title)).collect();
    let mut count: HashMap<(String, String), usize> = HashMap::new();
    for title in &titles {
        let mut seen = HashSet::new();
        for (template, _) in templates(title) {
            if seen.insert(template.clone()) {
                *count.entry(template).or_default() += 1;
            }
        }
    }
    // Each article takes its most specific template that enough titles share.
    let mut chosen: HashMap<(String, String), Vec<(usize, String)>> = HashMap::new();
    for (article, title) in titles.iter().enumerate() {
        let best = templates(title)
            .into_iter()
            .filter(|(template, _)| count[template] >= FAMILY_SIZE)
            .max_by_key(|((prefix, suffix), _)| {
                (
                    count[&(prefix.clone(), suffix.clone())],
                    prefix.len() + suffix.len(),
                )
            });
        if let Some((template, span)) = best {
            chosen.entry(template).or_default().push((article, span));
        }
    }
    // How many articles hold each term: a family's subjects are names (a country, a product)
    // that few articles mention, not words most of them use ("Using a gift card").
    let mut held_by: HashMap<&str, usize> = HashMap::new();
    for (_, article) in &articles {
        let mut terms = HashSet::new();
        for &passage in article {
            terms.extend(held[passage].iter().map(String::as_str));
        }
        for term in terms {
            *held_by.entry(term).or_default() += 1;
        }
    }
    let is_name = |span: &str| {
        analyse(span)
            .iter()
            .any(|term| held_by.get(term.as_str()).copied().unwrap_or(0) <= NAME_ARTICLES)
    };
    let chosen: Vec<_> = chosen
        .into_iter()
        .map(|(template, family)| {
            let family: Vec<_> = family
                .into_iter()
                .filter(|(_, span)| is_name(span))
                .collect();
            (template, family)
        })
        .collect();
    let mut families = Vec::new();
    let mut members = vec![None; passages.len()];
    let mut templates: Vec<_> = chosen.into_iter().collect();
    templates.sort();
    for ((prefix, suffix), family) in templates {
        if family.len() < FAMILY_SIZE {
            continue;
        }
        let mut subjects = Vec::new();
        let id = families.len() as u32;
        let mut in_articles: HashMap<&str, usize> = HashMap::new();
        for (article, span) in &family {
            let mut terms = HashSet::new();
            for &passage in &articles[*article].1 {
                terms.extend(held[passage].iter().map(String::as_str));
            }
            for term in terms {
                *in_articles.entry(term).or_default() += 1;
            }
            let subject = analyse(span);
            subjects.extend(subject.iter().cloned());
            for &passage in &articles[*article].1 {
                members[passage] = Some((id, subject.clone()));
            }
        }
        let mut common: Vec<String> = in_articles
            .into_iter()
            .filter(|(_, n)| 2 * n >= family.len())
            .map(|(term, _)| term.to_owned())
            .collect();
        common.sort();
        subjects.sort();
        subjects.dedup();
        let mut template = analyse(&format!("{prefix} {suffix}"));
        template.sort();
        template.dedup();
        families.push(Family {
            template,
            common,
            subjects,
        });
    }
    (families, members)
}

impl KnowledgeIndex {
    /// Builds the index: term frequencies, lengths and document frequencies, once.
    pub fn build(passages: Vec<Passage>) -> Self {
        let mut postings: BTreeMap<String, Vec<(u32, f32)>> = BTreeMap::new();
        let mut lengths = Vec::with_capacity(passages.len());
        let mut titles = Vec::with_capacity(passages.len());
        let mut held: Vec<HashSet<String>> = Vec::with_capacity(passages.len());
        for (i, passage) in passages.iter().enumerate() {
            let mut counts: HashMap<String, f64> = HashMap::new();
            let mut length = 0.0;
            for term in analyse(&passage.title) {
                *counts.entry(term).or_default() += TITLE_BOOST;
                length += TITLE_BOOST;
            }
            let mut title = analyse(article_title(&passage.title));
            title.sort();
            title.dedup();
            titles.push(title);
            for term in analyse(&passage.text) {
                *counts.entry(term).or_default() += 1.0;
                length += 1.0;
            }
            lengths.push(length as f32);
            held.push(counts.keys().cloned().collect());
            for (term, count) in counts {
                postings
                    .entry(term)
                    .or_default()
                    .push((i as u32, count as f32));
            }
        }
        for list in postings.values_mut() {
            list.sort_by_key(|(i, _)| *i);
        }
        let average_length = if lengths.is_empty() {
            1.0
        } else {
            (lengths.iter().map(|l| *l as f64).sum::<f64>() / lengths.len() as f64).max(1.0)
        };
        let (families, members) = families(&passages, &held);
        let unit = |passage: u32| match &members[passage as usize] {
            Some((family, _)) => passages.len() as u32 + family,
            None => passage,
        };
        let documents = (0..passages.len() as u32)
            .map(unit)
            .collect::<HashSet<_>>()
            .len() as u32;
        let frequencies = postings
            .iter()
            .map(|(term, list)| {
                let units: HashSet<u32> = list.iter().map(|(p, _)| unit(*p)).collect();
                (term.clone(), units.len() as u32)
            })
            .collect();
        Self {
            format: INDEX_FORMAT,
            passages,
            postings,
            lengths,
            average_length,
            titles,
            families,
            members,
            frequencies,
            documents,
        }
    }

    /// The index of a markdown knowledge file alone.
    pub fn from_markdown(markdown: &str) -> Self {
        Self::build(markdown_passages(markdown))
    }

    pub fn passages(&self) -> &[Passage] {
        &self.passages
    }

    pub fn is_empty(&self) -> bool {
        self.passages.is_empty()
    }

    fn idf(&self, term: &str) -> f64 {
        let n = self.documents as f64;
        let df = self.frequencies.get(term).copied().unwrap_or(0) as f64;
        ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
    }

    /// The query's terms as the index knows them: each distinct word, or for a word it does
    /// not hold (of five letters or more) the vocabulary words one typo away, with a weight;
    /// and how many words the index does not know at all.
    fn query_terms(&self, question: &str) -> (Vec<(String, f64)>, usize) {
        let mut seen = HashSet::new();
        let mut terms = Vec::new();
        let mut unknown = 0;
        for term in analyse(question) {
            if !seen.insert(term.clone()) {
                continue;
            }
            if self.postings.contains_key(&term) {
                terms.push((term, 1.0));
                continue;
            }
            let mut near = Vec::new();
            if term.chars().count() >= TYPO_MIN_LEN {
                near = self
                    .postings
                    .keys()
                    .filter(|word| word.chars().count() >= TYPO_MIN_LEN)
                    .filter(|word| word.chars().next() == term.chars().next())
                    .filter(|word| one_edit_apart(word, &term))
                    .cloned()
                    .collect();
            }
            if near.is_empty() {
                unknown += 1;
            }
            for word in near {
                if seen.insert(word.clone()) {
                    terms.push((word, TYPO_WEIGHT));
                }
            }
        }
        (terms, unknown)
    }

    /// Every passage that shares a word with `question` (a family's passage only when the
    /// question names its subject and the family's matter), best first. A hit's coverage is the
    /// share of the query's weight (idf) it matched; a word the index does not know weighs up to
    /// the rarest word's idf (at least [`UNKNOWN_WORD_WEIGHT`] of it), so a question about
    /// something else ("vegan bags") does not look covered by the words it shares.
    pub fn search(&self, question: &str) -> Vec<Hit<'_>> {
        self.rank(question).0
    }

    /// [`KnowledgeIndex::search`], with the terms the question asked and how many of its words
    /// the index does not know.
    fn rank(&self, question: &str) -> (Vec<Hit<'_>>, HashSet<String>, usize) {
        let (terms, unknown) = self.query_terms(question);
        let rarest = self.idf("");
        let total_weight: f64 = terms.iter().map(|(t, w)| w * self.idf(t)).sum::<f64>()
            + unknown as f64 * self.unknown_word_weight() * rarest;
        let mut scores: HashMap<u32, (f64, f64)> = HashMap::new();
        for (term, weight) in &terms {
            let idf = self.idf(term);
            for &(passage, tf) in self.postings.get(term).into_iter().flatten() {
                let tf = tf as f64;
                let length = self.lengths[passage as usize] as f64;
                let norm = K1 * (1.0 - B + B * length / self.average_length);
                let entry = scores.entry(passage).or_default();
                entry.0 += weight * idf * tf * (K1 + 1.0) / (tf + norm);
                entry.1 += weight * idf;
            }
        }
        let asked: HashSet<&str> = terms.iter().map(|(t, _)| t.as_str()).collect();
        let mut hits: Vec<Hit<'_>> = scores
            .into_iter()
            .filter(|(passage, _)| self.family_allows(*passage as usize, &asked))
            .map(|(passage, (score, matched))| Hit {
                passage: &self.passages[passage as usize],
                score: score * (1.0 + self.title_coverage(passage as usize, &asked)),
                coverage: if total_weight > 0.0 {
                    matched / total_weight
                } else {
                    0.0
                },
            })
            .collect();
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.passage.title.cmp(&b.passage.title))
        });
        let asked = asked.into_iter().map(str::to_owned).collect();
        (hits, asked, unknown)
    }

    /// How much a word the index does not know weighs, as a share of the rarest word's idf: a
    /// large Help Center knows the words of its matters, so a word it has never seen means the
    /// question is about something else; a short knowledge file knows few words, and a word it
    /// lacks says little.
    fn unknown_word_weight(&self) -> f64 {
        let known = self.postings.len() as f64 / KNOWN_VOCABULARY;
        known.clamp(UNKNOWN_WORD_WEIGHT, 1.0)
    }

    /// True when the question asks about a family's matter ("a store", "shipping") for a
    /// subject the index has no article for: it names none of the family's subjects and holds
    /// a word the index does not know ("Will you open a store in Tokyo?").
    fn names_unknown_subject(&self, asked: &HashSet<String>, unknown: usize) -> bool {
        unknown > 0
            && self.families.iter().any(|family| {
                family.template.iter().any(|term| asked.contains(term))
                    && !family.subjects.iter().any(|term| asked.contains(term))
            })
    }

    /// A passage of a family's article answers only a question that names the article's own
    /// subject (the country of "Shipping to Japan") and asks about something the family is
    /// about (a word most of its articles hold, "shipping", "customs"): "Is there free
    /// shipping?" is not about Japan, and "the weather in Lisbon" is not about our Lisbon store.
    fn family_allows(&self, passage: usize, asked: &HashSet<&str>) -> bool {
        let Some(Some((family, subject))) = self.members.get(passage) else {
            return true;
        };
        subject.iter().any(|term| asked.contains(term.as_str()))
            && self.families[*family as usize]
                .common
                .iter()
                .any(|term| asked.contains(term.as_str()) && !subject.contains(term))
    }

    /// The share of its article's title (by idf) that the question asks about: a question
    /// asks for what an article's title names ("Using a gift card", "Click and collect"), and
    /// an article whose title names something else it does not ask about ("Are shipping costs
    /// refunded?" for "how much is postage") answers it less.
    fn title_coverage(&self, passage: usize, asked: &HashSet<&str>) -> f64 {
        let (mut matched, mut total) = (0.0, 0.0);
        for term in self.titles.get(passage).into_iter().flatten() {
            let weight = self.idf(term);
            total += weight;
            if asked.contains(term.as_str()) {
                matched += weight;
            }
        }
        if total > 0.0 { matched / total } else { 0.0 }
    }

    /// The passage that answers `question` under the shipped rule, or why none does.
    pub fn answer(&self, question: &str) -> Verdict<'_> {
        self.answer_with(question, MIN_SCORE, MIN_COVERAGE, MIN_MARGIN)
    }

    /// [`KnowledgeIndex::answer`] with another rule (the benchmark sweeps it).
    pub fn answer_with(
        &self,
        question: &str,
        min_score: f64,
        min_coverage: f64,
        min_margin: f64,
    ) -> Verdict<'_> {
        let (hits, asked, unknown) = self.rank(question);
        let mut hits = hits.into_iter();
        let Some(best) = hits.next() else {
            return Verdict::NoMatch { best: None };
        };
        if self.names_unknown_subject(&asked, unknown) {
            return Verdict::NoMatch { best: Some(best) };
        }
        // Another topic competes when it matches about as much of the question: one that
        // matches clearly less ("Changing your email address" for a change of delivery
        // address) is a weaker answer, not a second meaning.
        let runner_up = hits
            .find(|hit| {
                hit.passage.topic != best.passage.topic
                    && hit.coverage >= best.coverage - MARGIN_COVERAGE_SLACK
            })
            .map_or(0.0, |hit| hit.score);
        // A small knowledge file cannot reach the score a large Help Center can: no word is
        // rare in two sections. The floor is at most half of what one rare word is worth here.
        let rare_word = ((self.documents as f64 - 0.5) / 1.5 + 1.0).ln();
        let min_score = min_score.min(rare_word / 2.0);
        if best.score >= min_score
            && best.coverage >= min_coverage
            && best.score >= runner_up * min_margin
        {
            Verdict::Answer(best)
        } else {
            Verdict::NoMatch { best: Some(best) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_inflections_alike() {
        for (a, b) in [
            ("refunds", "refund"),
            ("shipping", "ship"),
            ("shipped", "ship"),
            ("deliveries", "delivery"),
            ("cancelled", "cancel"),
            ("cancelling", "cancellation"),
            ("changing", "change"),
            ("quickly", "quick"),
            ("payments", "payment"),
            ("returns", "returned"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} / {b}");
        }
        assert_ne!(stem("order"), stem("shipping"));
    }

    #[test]
    fn synonyms_lead_to_article_words_in_one_step() {
        let targets: HashSet<String> = SYNONYMS.iter().map(|(_, to)| stem(to)).collect();
        for (from, to) in SYNONYMS {
            let from = stem(from);
            assert!(
                from == stem(to) || !targets.contains(&from),
                "{from} is itself a synonym's target"
            );
            assert!(
                !STOPWORDS.split_whitespace().any(|w| w == *to),
                "{to} is a stop word"
            );
        }
    }

    #[test]
    fn one_typo_apart() {
        assert!(one_edit_apart("refund", "refnd"));
        assert!(one_edit_apart("receive", "recieve"));
        assert!(one_edit_apart("shiping", "shipping"));
        assert!(one_edit_apart("adress", "address"));
        assert!(!one_edit_apart("refund", "return"));
        assert!(!one_edit_apart("same", "same"));
    }

    #[test]
    fn articles_split_into_cited_sections() {
        let html = "<p>Intro &amp; more.</p><h2>Shipping times</h2><p>Three to five days.</p>\
                    <ul><li>Express: 1 day</li></ul><script>x()</script><h2>Costs</h2><p>Free over 50&nbsp;€.</p>";
        let passages = article_passages("Shipping to Portugal", html, "https://hc/a/1", "7");
        let titles: Vec<&str> = passages.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Shipping to Portugal",
                "Shipping to Portugal › Shipping times",
                "Shipping to Portugal › Costs"
            ]
        );
        assert_eq!(passages[0].text, "Intro & more.");
        assert_eq!(passages[1].text, "Three to five days.\n- Express: 1 day");
        assert!(
            passages
                .iter()
                .all(|p| p.url.as_deref() == Some("https://hc/a/1"))
        );
        assert!(passages.iter().all(|p| !p.text.contains("x()")));
    }

    #[test]
    fn ranks_survives_json_and_tolerates_typos() {
        let index = KnowledgeIndex::from_markdown(
            "# Shipping times\nParcels to Portugal take 3 to 5 business days.\n\
             # Changing or cancelling an order\nYou can change or cancel an order within an hour.\n\
             # Returns\nReturn unworn items within 30 days for a refund.\n",
        );
        let json = serde_json::to_string(&index).unwrap();
        let index: KnowledgeIndex = serde_json::from_str(&json).unwrap();
        let Verdict::Answer(hit) = index.answer("How long does shipping take to Portugal?") else {
            panic!("no answer");
        };
        assert_eq!(hit.passage.title, "Shipping times");
        let Verdict::Answer(hit) = index.answer("can i retrun my shoes for a refnd") else {
            panic!("no answer");
        };
        assert_eq!(hit.passage.title, "Returns");
        assert!(matches!(
            index.answer("Do you sponsor local football teams?"),
            Verdict::NoMatch { .. }
        ));
    }

    #[test]
    fn customer_words_meet_the_articles_words() {
        assert_eq!(analyse("how much is postage"), analyse("price shipping"));
        assert_eq!(analyse("I want to swap it"), analyse("exchange"));
        assert_eq!(analyse("Can I pick it up?"), analyse("collect"));
        assert_eq!(analyse("using"), analyse("use"));
        assert_eq!(analyse("adding"), analyse("add"));
        // Numbers, number words and what comes after "instead of" say nothing.
        assert_eq!(analyse("2 refunds, three 120cm"), analyse("refund"));
        assert_eq!(
            analyse("return it in store instead of posting it"),
            analyse("return store")
        );
    }

    fn help_center() -> KnowledgeIndex {
        let mut passages = Vec::new();
        let mut article = |title: &str, html: &str, topic: &str| {
            let url = format!("https://hc/{}", passages.len());
            passages.extend(article_passages(title, html, &url, topic));
        };
        for (country, days) in [("Japan", 9), ("Brazil", 20), ("Canada", 10), ("Mexico", 14)] {
            article(
                &format!("Shipping to {country}"),
                &format!(
                    "<h2>Shipping times</h2><p>Standard shipping to {country} takes {days} \
                     business days.</p><h2>Customs</h2><p>Duties are charged on delivery.</p>"
                ),
                "shipping",
            );
        }
        for city in ["Lisbon", "Madrid", "Paris"] {
            article(
                &format!("Our {city} store"),
                &format!("<p>Our {city} store opens Monday to Saturday, 10:00 to 20:00.</p>"),
                "stores",
            );
        }
        article(
            "Shipping costs",
            "<p>Standard shipping is free on orders over 50 EUR.</p>",
            "shipping",
        );
        article(
            "Returning an item",
            "<p>Return unworn items within 30 days; print the label in your account.</p>",
            "returns",
        );
        article(
            "Gift cards",
            "<p>Gift cards never expire and work online and in our stores.</p>",
            "gift-cards",
        );
        let words: String = (0..KNOWN_VOCABULARY as usize)
            .map(|i| {
                format!(
                    "filler{} ",
                    ["a", "b", "c", "d", "e"][i % 5].repeat(i / 5 + 1)
                )
            })
            .collect();
        article("Glossary", &format!("<p>{words}</p>"), "glossary");
        KnowledgeIndex::build(passages)
    }

    fn answered(index: &KnowledgeIndex, question: &str) -> Option<String> {
        match index.answer(question) {
            Verdict::Answer(hit) => Some(hit.passage.title.clone()),
            Verdict::NoMatch { .. } => None,
        }
    }

    #[test]
    fn families_answer_only_for_their_subject() {
        let index = help_center();
        assert_eq!(
            answered(&index, "how long does delivery to Brazil take?").as_deref(),
            Some("Shipping to Brazil › Shipping times")
        );
        assert_eq!(
            answered(&index, "what time does the Madrid shop open?").as_deref(),
            Some("Our Madrid store")
        );
        // A question that names no country is not about one.
        assert_eq!(
            answered(&index, "is shipping free?").as_deref(),
            Some("Shipping costs")
        );
        // A page's subject alone is not a question about the page's matter.
        assert_eq!(answered(&index, "What's the weather like in Lisbon?"), None);
        // The family's matter for a subject no article has.
        assert_eq!(answered(&index, "Will you open a store in Tokyo?"), None);
    }

    #[test]
    fn unknown_words_weigh_in_a_large_index_only() {
        let index = help_center();
        assert!(index.unknown_word_weight() >= 1.0);
        assert_eq!(
            answered(&index, "do gift cards expire?").as_deref(),
            Some("Gift cards")
        );
        assert_eq!(answered(&index, "do you sell vegan gift wrap?"), None);
        let small = KnowledgeIndex::from_markdown(
            "# Shipping\nWe ship worldwide within 3 business days.\n\
             # Returns\nReturn any item within 30 days for a full refund.\n",
        );
        assert!(small.unknown_word_weight() < 0.5);
        assert_eq!(
            answered(&small, "How do returns work?").as_deref(),
            Some("Returns")
        );
    }
}
