//! Full-text search over the clickable condition catalog of an index: field labels, brand,
//! category and product names, in Korean and English. A hit is a ready-to-use query node.
//!
//! The catalog ([`entries`]) is indexed in memory by tantivy, twice over one text per entry
//! (its names, labels and keywords, NFC-normalized and lower-cased, each word once): in a
//! field of words and in a field of character bigrams (tantivy's `NgramTokenizer`), so that
//! part of a Korean word finds the whole (`에센스` finds `윤조에센스`, `설화` finds `설화수`).
//! A query is normalized the same way and must hold every bigram of each of its words; a
//! one-character word must start a bigram (a term range over the bigrams). A whole query word
//! found in the word field adds to the score. The standard `QueryParser` is not used: it
//! would turn the bigrams into a phrase.
//!
//! # Ranking
//!
//! Hits are ordered by, in turn:
//! 1. the match tier: a name or label equal to the query, then one starting with it, then
//!    entries where every query word starts a word, then the rest (the query inside a word);
//! 2. popularity: field entries (the broadest conditions) first, then values by the number of
//!    customers holding them, most first;
//! 3. the text score (BM25 over the grams, plus whole-word matches), higher first;
//! 4. catalog order (fields in catalog order, then values most common first).
//!
//! [`Hit::score`] is the tier (0 to 3) plus the text score squashed into [0, 1).

mod entries;
mod glossary;
mod text;

use std::collections::HashSet;
use std::ops::Bound;

use serde::Serialize;
use tamsa_query::Engine;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST};
use tantivy::tokenizer::{NgramTokenizer, WhitespaceTokenizer};
use tantivy::{doc, Index, IndexWriter, ReloadPolicy, Searcher, Term};

pub use entries::{entries, Entry};

/// Why the catalog could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// Tantivy failed to build the in-memory index.
    #[error("cannot build the condition search index: {0}")]
    Index(#[from] tantivy::TantivyError),
}

/// A result of this crate.
pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// One condition found, ready to be added to a query.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hit {
    /// One of `profile`, `brand`, `category`, `product`, `spend_orders`, `channel`,
    /// `recency`, `last_purchase`.
    pub group: &'static str,
    /// What the condition means, in English, such as `Bought brand 설화담 (last 90 days)`.
    pub label_en: String,
    /// What the condition means, in Korean, such as `최근 90일 설화담 브랜드 구매`.
    pub label_ko: String,
    /// The condition, a node that [`Engine::parse`] accepts, such as
    /// `{"field": "brand_90d", "op": "in", "value": ["설화담"]}`.
    pub node: serde_json::Value,
    /// Customers holding the value, for a value entry.
    pub count: Option<u64>,
    /// How well the text matched: the tier (0 to 3, see the crate documentation) plus the
    /// text score squashed into [0, 1).
    pub score: f32,
}

/// The longest query looked at, in characters; no catalog text comes near it.
pub const MAX_QUERY_CHARS: usize = 200;

/// Name of the tokenizer of the gram field.
const GRAM_TOKENIZER: &str = "tamsa_grams";
/// Name of the tokenizer of the word field.
const WORD_TOKENIZER: &str = "tamsa_words";
/// How much a whole query word found as a word weighs against one gram.
const WORD_BOOST: f32 = 2.0;
/// Tantivy's smallest indexing budget; the catalog takes a fraction of it.
const WRITER_MEMORY: usize = 15_000_000;

/// The searchable condition catalog of one engine.
pub struct Catalog {
    searcher: Searcher,
    grams: Field,
    words: Field,
    /// Entry number of each document, by segment and document id.
    doc_entries: Vec<Vec<u32>>,
    entries: Vec<Indexed>,
}

/// An entry with its normalized names and text, as its tier is computed from.
struct Indexed {
    entry: Entry,
    /// Normalized names and labels.
    names: Vec<String>,
    /// Normalized names, labels and keywords, words separated by single spaces.
    text: String,
}

impl Indexed {
    fn new(entry: Entry) -> Indexed {
        let names: Vec<String> = entry
            .names
            .iter()
            .chain([&entry.label_en, &entry.label_ko])
            .map(|n| text::normalize(n))
            .filter(|n| !n.is_empty())
            .collect();
        // Each word once: a product's name recurs in both labels.
        let keywords: Vec<String> = entry.keywords.iter().map(|k| text::normalize(k)).collect();
        let mut seen = HashSet::new();
        let words = names.iter().chain(&keywords).flat_map(|n| n.split(' ')).filter(|w| seen.insert(*w));
        let text = words.collect::<Vec<_>>().join(" ");
        Indexed { entry, names, text }
    }
}

/// The character of a one-character word.
fn single_char(word: &str) -> Option<char> {
    let mut chars = word.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

impl Catalog {
    /// Builds the catalog of an engine: one entry per field, with a default condition, and
    /// one per value of gender, region, tier, `channel_365d`, `brand_90d`, `category_90d`
    /// and `product_90d` (see [`entries`]).
    pub fn build(engine: &Engine) -> Result<Catalog> {
        Catalog::from_entries(entries(engine))
    }

    /// Builds a catalog of the given entries.
    pub fn from_entries(entries: Vec<Entry>) -> Result<Catalog> {
        let entries: Vec<Indexed> = entries.into_iter().map(Indexed::new).collect();
        let mut schema = Schema::builder();
        let indexed = |tokenizer| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(IndexRecordOption::WithFreqs),
            )
        };
        let grams = schema.add_text_field("grams", indexed(GRAM_TOKENIZER));
        let words = schema.add_text_field("words", indexed(WORD_TOKENIZER));
        let entry = schema.add_u64_field("entry", FAST);
        let index = Index::create_in_ram(schema.build());
        // The text is normalized (NFC, lower case, words split by single spaces) before it is
        // indexed, so neither field needs a filter.
        index.tokenizers().register(GRAM_TOKENIZER, NgramTokenizer::all_ngrams(2, 2)?);
        index.tokenizers().register(WORD_TOKENIZER, WhitespaceTokenizer::default());

        // One indexing thread: the catalog is small, and each thread takes its own budget.
        let mut writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        for (i, e) in entries.iter().enumerate() {
            // The trailing space makes the last character start a bigram too.
            let text = format!("{} ", e.text);
            writer.add_document(doc!(grams => text, words => e.text.as_str(), entry => i as u64))?;
        }
        writer.commit()?;
        drop(writer);

        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let searcher = reader.searcher();
        let doc_entries = searcher
            .segment_readers()
            .iter()
            .map(|segment| {
                let column = segment.fast_fields().u64("entry")?;
                Ok((0..segment.max_doc()).map(|doc| column.first(doc).unwrap_or(0) as u32).collect())
            })
            .collect::<Result<_>>()?;
        Ok(Catalog { searcher, grams, words, doc_entries, entries })
    }

    /// The entries matching `q`, best first (see the crate documentation), at most `limit`.
    /// A query with no letter or digit finds nothing; past [`MAX_QUERY_CHARS`] it is cut.
    pub fn search(&self, q: &str, limit: usize) -> Vec<Hit> {
        let q = q.char_indices().nth(MAX_QUERY_CHARS).map_or(q, |(end, _)| &q[..end]);
        let query = text::normalize(q);
        if query.is_empty() || limit == 0 || self.entries.is_empty() {
            return Vec::new();
        }
        let query_words: Vec<&str> = query.split(' ').collect();
        let mut grams: Vec<String> = query_words.iter().flat_map(|w| text::bigrams(w)).collect();
        grams.sort_unstable();
        grams.dedup();
        let term = |field, text: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs))
        };
        // Every bigram is required; tantivy's QueryParser would make a phrase of them instead.
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            grams.iter().map(|g| (Occur::Must, term(self.grams, g))).collect();
        // A one-character word must start a bigram: the bigrams from it up to the next character.
        for c in query_words.iter().filter_map(|w| single_char(w)) {
            let gram = |c: char| Term::from_field_text(self.grams, c.encode_utf8(&mut [0; 4]));
            let next = (c as u32 + 1..).find_map(char::from_u32);
            let upper = next.map_or(Bound::Unbounded, |n| Bound::Excluded(gram(n)));
            clauses.push((Occur::Must, Box::new(RangeQuery::new(Bound::Included(gram(c)), upper))));
        }
        clauses.extend(query_words.iter().map(|w| {
            (Occur::Should, Box::new(BoostQuery::new(term(self.words, w), WORD_BOOST)) as Box<dyn Query>)
        }));
        let found = self
            .searcher
            .search(&BooleanQuery::new(clauses), &TopDocs::with_limit(self.entries.len()).order_by_score())
            // Searching reads slices of memory with a query built here: nothing can fail.
            .expect("searching an index held in memory does not fail");

        let mut hits: Vec<(text::Tier, f32, usize)> = found
            .into_iter()
            .map(|(score, address)| {
                let i = self.doc_entries[address.segment_ord as usize][address.doc_id as usize] as usize;
                let e = &self.entries[i];
                let words: Vec<&str> = e.text.split(' ').collect();
                (text::tier(&query, &e.names, &words), score, i)
            })
            .collect();
        // Fields before values, then values by count.
        let popularity = |i: usize| match self.entries[i].entry.count {
            None => (1, 0),
            Some(count) => (0, count),
        };
        hits.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| popularity(b.2).cmp(&popularity(a.2)))
                .then_with(|| b.1.total_cmp(&a.1))
                .then_with(|| a.2.cmp(&b.2))
        });
        hits.into_iter()
            .take(limit)
            .map(|(tier, score, i)| {
                let e = &self.entries[i].entry;
                Hit {
                    group: e.group,
                    label_en: e.label_en.clone(),
                    label_ko: e.label_ko.clone(),
                    node: e.node.clone(),
                    count: e.count,
                    score: tier as u8 as f32 + score / (score + 1.0),
                }
            })
            .collect()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the catalog has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, in the order they were given.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &Entry> {
        self.entries.iter().map(|e| &e.entry)
    }
}
