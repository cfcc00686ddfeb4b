//! The one text normalization that indexing and queries share (NFC, lower case, words split
//! on anything but letters and digits), the grams a query word must match, and match tiers.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// `text` in NFC and lower case, its words (runs of letters, digits and combining marks)
/// joined by single spaces.
///
/// Lower-casing comes first because it can itself decompose a letter (`İ` becomes `i̇`).
pub(crate) fn normalize(text: &str) -> String {
    let lower = text.to_lowercase();
    // Most text is already composed, and composing Hangul again is slow.
    let composed = match is_nfc_quick(lower.chars()) {
        IsNormalized::Yes => lower,
        _ => lower.nfc().collect(),
    };
    let mut out = String::with_capacity(composed.len());
    let mut gap = false;
    for c in composed.chars() {
        if is_word_char(c) {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

/// Whether `c` belongs to a word: a letter, digit or combining mark. Hangul syllables and
/// ASCII are decided without Unicode's tables, which are slow for Hangul.
fn is_word_char(c: char) -> bool {
    matches!(c, '가'..='힣')
        || c.is_ascii_alphanumeric()
        || (!c.is_ascii() && (c.is_alphanumeric() || is_combining_mark(c)))
}

/// The bigrams of one normalized word that a matching text must hold; none for a single
/// character, which is looked for as the first character of a bigram instead.
pub(crate) fn bigrams(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    chars.windows(2).map(|pair| pair.iter().collect()).collect()
}

/// How well a normalized query matches an entry, best highest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tier {
    /// The query's grams occur, but some query word starts no word of the entry
    /// (`에센스` in `윤조에센스`).
    Inside = 0,
    /// Every query word starts a word of the entry (`수분` in `설화담 수분 에센스 50ml`).
    WordPrefix = 1,
    /// A name or label of the entry starts with the query (`설화` for `설화담`).
    Prefix = 2,
    /// A name or label of the entry is the query (`에센스` for the category `에센스`).
    Exact = 3,
}

/// The tier of `query` (normalized, non-empty) against an entry's normalized names and
/// labels and the words of its whole text.
pub(crate) fn tier(query: &str, names: &[String], words: &[&str]) -> Tier {
    if names.iter().any(|n| n == query) {
        Tier::Exact
    } else if names.iter().any(|n| n.starts_with(query)) {
        Tier::Prefix
    } else if query.split(' ').all(|q| words.iter().any(|w| w.starts_with(q))) {
        Tier::WordPrefix
    } else {
        Tier::Inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_composes_lowers_and_splits_words() {
        let check = |input: &str, expect: &str| assert_eq!(normalize(input), expect, "{input:?}");
        check("Spend, last 90 days", "spend last 90 days");
        check("  brand_90d ", "brand 90d");
        check("\u{1109}\u{1165}\u{11AF}\u{1112}\u{116A}", "설화");
        check("온·오프라인 모두", "온 오프라인 모두");
        check("Cafe\u{301}", "café");
        check("?!", "");
    }

    #[test]
    fn bigrams_of_words() {
        assert_eq!(bigrams("에센스"), ["에센", "센스"]);
        assert_eq!(bigrams("설화"), ["설화"]);
        assert!(bigrams("설").is_empty());
        assert_eq!(bigrams("age"), ["ag", "ge"]);
    }

    #[test]
    fn tiers_order_exact_prefix_word_inside() {
        let names = vec!["설화담 수분 에센스 50ml".to_owned(), "p000001".to_owned()];
        let words: Vec<&str> = names[0].split(' ').chain(["설화담", "product"]).collect();
        assert_eq!(tier("p000001", &names, &words), Tier::Exact);
        assert_eq!(tier("설화", &names, &words), Tier::Prefix);
        assert_eq!(tier("에센스 설화", &names, &words), Tier::WordPrefix);
        assert_eq!(tier("센스", &names, &words), Tier::Inside);
    }
}
