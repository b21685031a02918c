//! Unicode-aware tokenization into feature ids.
//!
//! # Pipeline
//!
//! 1. **Truncate** the raw text to its first [`TokenizerConfig::max_chars`] characters
//!    (bounds the cost of very long inputs such as e-mails; 0 = no limit).
//! 2. **NFKC** normalisation (`icu_normalizer`): compatibility characters fold to their
//!    plain forms (`ﬁ` → `fi`, full-width `Ａ` → `A`, `①` → `1`).
//! 3. **Case folding** (`icu_casemap`, full Unicode folding: `Straße` → `strasse`,
//!    `ΣΑΣ` → `σασ`), the caseless-matching form, stronger than lower-casing.
//! 4. **Word segmentation** with ICU4X's `icu_segmenter` (UAX #29 word boundaries; for
//!    scripts written without spaces — Thai, Lao, Khmer, Burmese, Chinese, Japanese — its
//!    LSTM models for the South-East Asian scripts and dictionaries for Chinese and
//!    Japanese by default ([`Segmenter::Auto`]), or dictionaries for all of them
//!    ([`Segmenter::Dictionary`])). Only word-like segments (letters, numbers, ideographs) are
//!    kept; spaces and punctuation are dropped. [`Tokenizer::words`] returns this list.
//! 5. **Features**, fastText-style: each word (unigram), each pair of adjacent words
//!    (bigram), and the character n-grams of `"<" + word + ">"` for `n` in
//!    `char_min_n..=char_max_n` (the lone boundary markers `<` and `>` excluded).
//! 6. **Ids**: in [`Features::Hashing`] mode, `id = FNV-1a-64(tag ‖ bytes) mod buckets` —
//!    a fixed function, so ids are identical on every machine and need no fitting; in
//!    [`Features::Vocabulary`] mode, the features seen at least `min_count` times by
//!    [`Tokenizer::fit`], most frequent first (ties by byte order), at most `max_size`;
//!    unseen features are dropped; in [`Features::WordsAndHashing`] mode (fastText's), the
//!    words are a vocabulary as above (ids `0..V`) and the other features are hashed into
//!    `V + hash mod buckets`.
//!
//! The default configuration was chosen by validation accuracy on the three bundled data
//! sets; see the crate documentation for the measured table.

use std::collections::HashMap;
use std::sync::OnceLock;

use icu_casemap::CaseMapperBorrowed;
use icu_normalizer::ComposingNormalizerBorrowed;
use icu_segmenter::{WordSegmenter, WordSegmenterBorrowed, options::WordBreakInvariantOptions};
use serde::{Deserialize, Serialize};

use crate::error::{InvalidSetting, require};

/// How features become ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Features {
    /// Hash every feature into `buckets` ids (the hashing trick); nothing to fit.
    Hashing {
        /// Number of ids (embedding rows).
        buckets: usize,
    },
    /// A vocabulary learned by [`Tokenizer::fit`].
    Vocabulary {
        /// Minimum number of occurrences in the fitting texts.
        min_count: usize,
        /// Maximum number of features kept (most frequent first).
        max_size: usize,
    },
    /// fastText's split: each word [`Tokenizer::fit`] saw at least `min_count` times has an id
    /// of its own (ids `0..V`, most frequent first, `V ≤ max_words`); bigrams and character
    /// n-grams are hashed into `buckets` ids after them (`V + hash mod buckets`). An unseen word
    /// is dropped, its n-grams are kept.
    WordsAndHashing {
        /// Minimum number of occurrences of a word in the fitting texts.
        min_count: usize,
        /// Maximum number of words kept (most frequent first).
        max_words: usize,
        /// Number of ids the n-grams are hashed into.
        buckets: usize,
    },
}

/// Which ICU4X word segmenter handles scripts written without spaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segmenter {
    /// LSTM models for Thai, Lao, Khmer and Burmese, dictionaries for Chinese and Japanese
    /// (default: on Thai sentences from the langid data the dictionary segmenter splits
    /// e.g. "พอกลับ" as "พอก|ลับ" and "ที่รักษา" as "ที่รัก|ษา"; the LSTM gets both right).
    #[default]
    Auto,
    /// Dictionaries for all of Thai, Lao, Khmer, Burmese, Chinese and Japanese.
    Dictionary,
}

/// Tokenizer settings. Build with [`TokenizerConfig::default`], [`TokenizerConfig::hashing`]
/// or [`TokenizerConfig::vocabulary`] and the `with_*` setters; check with
/// [`TokenizerConfig::validate`] ([`Tokenizer::new`] does). A recipe's `tokenizer = { … }`
/// table is one of these; fields it leaves out take the defaults of [`TokenizerConfig::default`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenizerConfig {
    /// Hashing or vocabulary mode.
    pub features: Features,
    /// Emit one feature per word.
    pub word_unigrams: bool,
    /// Emit one feature per pair of adjacent words.
    pub word_bigrams: bool,
    /// Smallest character n-gram length (0 = no character n-grams).
    pub char_min_n: usize,
    /// Largest character n-gram length.
    pub char_max_n: usize,
    /// Characters of the raw text that are used (0 = all).
    pub max_chars: usize,
    /// Segmenter for scripts without spaces.
    pub segmenter: Segmenter,
}

/// Default number of hash buckets.
pub const DEFAULT_BUCKETS: usize = 1 << 17;

impl Default for TokenizerConfig {
    /// Hashing into 2^17 buckets, word unigrams + bigrams, character 2- to 5-grams,
    /// first 2,000 characters (chosen by validation accuracy; see the crate docs).
    fn default() -> Self {
        TokenizerConfig {
            features: Features::Hashing {
                buckets: DEFAULT_BUCKETS,
            },
            word_unigrams: true,
            word_bigrams: true,
            char_min_n: 2,
            char_max_n: 5,
            max_chars: 2000,
            segmenter: Segmenter::Auto,
        }
    }
}

impl TokenizerConfig {
    /// Default features, hashed into `buckets` ids.
    pub fn hashing(buckets: usize) -> Self {
        TokenizerConfig {
            features: Features::Hashing { buckets },
            ..Default::default()
        }
    }

    /// Default features, with a vocabulary of at most `max_size` features seen at least
    /// `min_count` times.
    pub fn vocabulary(min_count: usize, max_size: usize) -> Self {
        TokenizerConfig {
            features: Features::Vocabulary {
                min_count,
                max_size,
            },
            ..Default::default()
        }
    }

    /// Sets the id mode.
    pub fn with_features(mut self, features: Features) -> Self {
        self.features = features;
        self
    }
    /// Turns word unigrams on or off.
    pub fn with_word_unigrams(mut self, on: bool) -> Self {
        self.word_unigrams = on;
        self
    }
    /// Turns word bigrams on or off.
    pub fn with_word_bigrams(mut self, on: bool) -> Self {
        self.word_bigrams = on;
        self
    }
    /// Character n-grams with `min_n ≤ n ≤ max_n`.
    pub fn with_char_ngrams(mut self, min_n: usize, max_n: usize) -> Self {
        self.char_min_n = min_n;
        self.char_max_n = max_n;
        self
    }
    /// No character n-grams.
    pub fn without_char_ngrams(mut self) -> Self {
        self.char_min_n = 0;
        self.char_max_n = 0;
        self
    }
    /// Uses only the first `max_chars` characters (0 = all).
    pub fn with_max_chars(mut self, max_chars: usize) -> Self {
        self.max_chars = max_chars;
        self
    }
    /// Chooses the segmenter.
    pub fn with_segmenter(mut self, segmenter: Segmenter) -> Self {
        self.segmenter = segmenter;
        self
    }

    /// Whether character n-grams are on.
    pub fn char_ngrams(&self) -> bool {
        self.char_min_n > 0
    }

    /// Rejects settings that cannot work, naming the field.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if let Features::Vocabulary { min_count, .. }
        | Features::WordsAndHashing { min_count, .. } = self.features
        {
            require(
                min_count > 0,
                "features.min_count",
                min_count,
                "must be at least 1",
            )?;
        }
        match self.features {
            Features::Hashing { buckets } => require(
                (1..=u32::MAX as usize).contains(&buckets),
                "features.buckets",
                buckets,
                "must be in 1..=2^32-1",
            )?,
            Features::Vocabulary { max_size, .. } => {
                require(
                    (1..=u32::MAX as usize).contains(&max_size),
                    "features.max_size",
                    max_size,
                    "must be in 1..=2^32-1",
                )?;
            }
            Features::WordsAndHashing {
                max_words, buckets, ..
            } => {
                require(
                    max_words > 0,
                    "features.max_words",
                    max_words,
                    "must be at least 1",
                )?;
                require(
                    buckets > 0 && max_words.saturating_add(buckets) <= u32::MAX as usize,
                    "features.buckets",
                    buckets,
                    "must be at least 1, with max_words + buckets <= 2^32-1",
                )?;
            }
        }
        let (min_n, max_n) = (self.char_min_n, self.char_max_n);
        require(
            min_n == 0 || (min_n..=16).contains(&max_n),
            "char_max_n",
            max_n,
            "must satisfy char_min_n <= char_max_n <= 16",
        )?;
        require(
            min_n > 0 || max_n == 0,
            "char_max_n",
            max_n,
            "must be 0 when char_min_n is 0 (0..=0 turns character n-grams off)",
        )?;
        require(
            self.word_unigrams || self.word_bigrams || self.char_ngrams(),
            "word_unigrams",
            false,
            "no features: enable word unigrams, word bigrams or character n-grams",
        )
    }
}

/// A text's feature ids ([`Tokenizer::encode_grouped`]): the first `words` are its word
/// features (unigrams and bigrams), the rest its character n-grams.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Encoded {
    /// Word-feature ids, then character n-gram ids, each group in order of appearance.
    pub ids: Vec<u32>,
    /// How many of `ids` are word features.
    pub words: usize,
}

/// One feature of a text, before it becomes an id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Feature<'a> {
    Word(&'a str),
    Bigram(&'a str, &'a str),
    Char(&'a str),
}

impl Feature<'_> {
    fn tag(&self) -> u8 {
        match self {
            Feature::Word(_) => b'w',
            Feature::Bigram(..) => b'b',
            Feature::Char(_) => b'c',
        }
    }

    /// The vocabulary key: tag, `:`, the feature (bigram words joined by U+001F).
    fn write_key(&self, out: &mut String) {
        out.clear();
        out.push(self.tag() as char);
        out.push(':');
        match *self {
            Feature::Word(w) | Feature::Char(w) => out.push_str(w),
            Feature::Bigram(a, b) => {
                out.push_str(a);
                out.push('\u{1f}');
                out.push_str(b);
            }
        }
    }

    /// FNV-1a 64: `h₀ = 0xcbf29ce484222325`, `hᵢ₊₁ = (hᵢ ⊕ byteᵢ) · 0x100000001b3 mod 2⁶⁴`,
    /// over the bytes of the tag and the feature (bigram words separated by the byte 0x1f).
    fn hash(&self) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h ^= b as u64;
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(&[self.tag()]);
        match *self {
            Feature::Word(w) | Feature::Char(w) => eat(w.as_bytes()),
            Feature::Bigram(a, b) => {
                eat(a.as_bytes());
                eat(&[0x1f]);
                eat(b.as_bytes());
            }
        }
        h
    }
}

/// Turns texts into lists of feature ids. See the [module docs](self) for the pipeline.
///
/// Serialises (serde) to its configuration plus, in vocabulary mode, the vocabulary, so a
/// saved tokenizer encodes exactly as the original.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "TokenizerFile", into = "TokenizerFile")]
pub struct Tokenizer {
    config: TokenizerConfig,
    vocab: Vec<String>,
    index: HashMap<String, u32>,
}

#[derive(Serialize, Deserialize)]
struct TokenizerFile {
    config: TokenizerConfig,
    #[serde(default)]
    vocabulary: Vec<String>,
}

/// A saved tokenizer is checked as it is read: valid settings, no vocabulary in hashing mode,
/// at most `max_size` entries and none twice (each entry's id is its position, so a repeated
/// entry would leave an id no feature maps to).
impl TryFrom<TokenizerFile> for Tokenizer {
    type Error = InvalidSetting;

    fn try_from(f: TokenizerFile) -> Result<Self, InvalidSetting> {
        f.config.validate()?;
        let n = f.vocabulary.len();
        match f.config.features {
            Features::Hashing { .. } => {
                require(n == 0, "vocabulary", n, "must be empty in hashing mode")?
            }
            Features::Vocabulary { max_size, .. } => require(
                n <= max_size,
                "vocabulary",
                n,
                "must have at most features.max_size entries",
            )?,
            Features::WordsAndHashing { max_words, .. } => {
                require(
                    n <= max_words,
                    "vocabulary",
                    n,
                    "must have at most features.max_words entries",
                )?;
                let not_word = f.vocabulary.iter().find(|k| !k.starts_with("w:"));
                require(
                    not_word.is_none(),
                    "vocabulary",
                    not_word.cloned().unwrap_or_default(),
                    "must hold words only (keys \"w:…\") with words_and_hashing features",
                )?;
            }
        }
        let mut index = HashMap::with_capacity(n);
        for (i, k) in f.vocabulary.iter().enumerate() {
            let first = index.insert(k.clone(), i as u32);
            require(
                first.is_none(),
                "vocabulary",
                format!("entry {i} {k:?}"),
                "repeats an earlier entry",
            )?;
        }
        Ok(Tokenizer {
            config: f.config,
            vocab: f.vocabulary,
            index,
        })
    }
}

impl From<Tokenizer> for TokenizerFile {
    fn from(t: Tokenizer) -> Self {
        TokenizerFile {
            config: t.config,
            vocabulary: t.vocab,
        }
    }
}

impl PartialEq for Tokenizer {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.vocab == other.vocab
    }
}

fn segmenter(kind: Segmenter) -> WordSegmenterBorrowed<'static> {
    static DICT: OnceLock<WordSegmenterBorrowed<'static>> = OnceLock::new();
    static AUTO: OnceLock<WordSegmenterBorrowed<'static>> = OnceLock::new();
    match kind {
        Segmenter::Dictionary => *DICT
            .get_or_init(|| WordSegmenter::new_dictionary(WordBreakInvariantOptions::default())),
        Segmenter::Auto => {
            *AUTO.get_or_init(|| WordSegmenter::new_auto(WordBreakInvariantOptions::default()))
        }
    }
}

impl Tokenizer {
    /// A tokenizer with the given settings (rejected if [`TokenizerConfig::validate`] fails).
    /// In vocabulary mode it must be [`fit`](Tokenizer::fit) before it emits ids.
    pub fn new(config: TokenizerConfig) -> Result<Self, InvalidSetting> {
        config.validate()?;
        Ok(Tokenizer {
            config,
            vocab: Vec::new(),
            index: HashMap::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &TokenizerConfig {
        &self.config
    }

    /// The learned vocabulary (empty in hashing mode).
    pub fn vocabulary(&self) -> &[String] {
        &self.vocab
    }

    /// Number of distinct ids, i.e. the embedding rows a model needs: `buckets` in hashing
    /// mode, the vocabulary size (at least 1) in vocabulary mode.
    pub fn num_ids(&self) -> usize {
        match self.config.features {
            Features::Hashing { buckets } => buckets,
            Features::Vocabulary { .. } => self.vocab.len().max(1),
            Features::WordsAndHashing { buckets, .. } => self.vocab.len() + buckets,
        }
    }

    /// Learns the vocabulary (vocabulary mode; a no-op in hashing mode). Refitting replaces
    /// the previous vocabulary.
    pub fn fit<'a, I>(&mut self, texts: I)
    where
        I: IntoIterator<Item = &'a str>,
    {
        let (min_count, max_size, words_only) = match self.config.features {
            Features::Hashing { .. } => return,
            Features::Vocabulary {
                min_count,
                max_size,
            } => (min_count, max_size, false),
            Features::WordsAndHashing {
                min_count,
                max_words,
                ..
            } => (min_count, max_words, true),
        };
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut key = String::new();
        for text in texts {
            self.for_each_feature(text, |f| {
                if words_only && !matches!(f, Feature::Word(_)) {
                    return;
                }
                f.write_key(&mut key);
                if let Some(c) = counts.get_mut(key.as_str()) {
                    *c += 1;
                } else {
                    counts.insert(key.clone(), 1);
                }
            });
        }
        let mut kept: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(_, c)| *c >= min_count)
            .collect();
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        kept.truncate(max_size);
        self.vocab = kept.into_iter().map(|(k, _)| k).collect();
        self.index = self
            .vocab
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i as u32))
            .collect();
    }

    /// Steps 1–3 of the pipeline: truncation, NFKC, case folding.
    pub fn normalize(&self, text: &str) -> String {
        let text = match self.config.max_chars {
            0 => text,
            n => match text.char_indices().nth(n) {
                Some((end, _)) => &text[..end],
                None => text,
            },
        };
        let nfkc = ComposingNormalizerBorrowed::new_nfkc().normalize(text);
        CaseMapperBorrowed::new().fold_string(&nfkc).into_owned()
    }

    /// Calls `f` with the start and end byte offsets of each word-like segment of `s`.
    fn for_each_word(&self, s: &str, mut f: impl FnMut(usize, usize)) {
        let mut prev = 0;
        for (b, ty) in segmenter(self.config.segmenter)
            .segment_str(s)
            .iter_with_word_type()
        {
            if b > prev && ty.is_word_like() {
                f(prev, b);
            }
            prev = b;
        }
    }

    /// The normalised, segmented words of `text` (steps 1–4).
    pub fn words(&self, text: &str) -> Vec<String> {
        let s = self.normalize(text);
        let mut out = Vec::new();
        self.for_each_word(&s, |a, b| out.push(s[a..b].to_string()));
        out
    }

    fn for_each_feature(&self, text: &str, mut f: impl FnMut(Feature<'_>)) {
        let s = self.normalize(text);
        let mut spans: Vec<(usize, usize)> = Vec::new();
        self.for_each_word(&s, |a, b| spans.push((a, b)));
        let (min_n, max_n) = (self.config.char_min_n, self.config.char_max_n);
        let mut bracketed = String::new();
        let mut starts: Vec<usize> = Vec::new();
        for (i, &(a, b)) in spans.iter().enumerate() {
            let w = &s[a..b];
            if self.config.word_unigrams {
                f(Feature::Word(w));
            }
            if self.config.word_bigrams && i > 0 {
                let (pa, pb) = spans[i - 1];
                f(Feature::Bigram(&s[pa..pb], w));
            }
            if min_n > 0 {
                bracketed.clear();
                bracketed.push('<');
                bracketed.push_str(w);
                bracketed.push('>');
                starts.clear();
                starts.extend(bracketed.char_indices().map(|(o, _)| o));
                let k = starts.len();
                starts.push(bracketed.len());
                for n in min_n..=max_n.min(k) {
                    for j in 0..=(k - n) {
                        if n == 1 && (j == 0 || j == k - 1) {
                            continue; // a lone "<" or ">"
                        }
                        f(Feature::Char(&bracketed[starts[j]..starts[j + n]]));
                    }
                }
            }
        }
    }

    /// The feature ids of `text`: its word features (unigrams and bigrams) in order of
    /// appearance, then its character n-grams in order of appearance (duplicates kept: a bag,
    /// not a set). [`encode_grouped`](Self::encode_grouped) says where the groups meet.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.encode_grouped(text).ids
    }

    /// [`encode`](Self::encode), with the number of word-feature ids that come first.
    pub fn encode_grouped(&self, text: &str) -> Encoded {
        let (mut ids, mut chars) = (Vec::new(), Vec::new());
        let mut push = |f: Feature<'_>, id: u32| match f {
            Feature::Char(_) => chars.push(id),
            Feature::Word(_) | Feature::Bigram(..) => ids.push(id),
        };
        match self.config.features {
            Features::Hashing { buckets } => {
                let m = buckets as u64;
                self.for_each_feature(text, |f| push(f, (f.hash() % m) as u32));
            }
            Features::Vocabulary { .. } => {
                let mut key = String::new();
                self.for_each_feature(text, |f| {
                    f.write_key(&mut key);
                    if let Some(&id) = self.index.get(key.as_str()) {
                        push(f, id);
                    }
                });
            }
            Features::WordsAndHashing { buckets, .. } => {
                let (words, m) = (self.vocab.len() as u64, buckets as u64);
                let mut key = String::new();
                self.for_each_feature(text, |f| match f {
                    Feature::Word(_) => {
                        f.write_key(&mut key);
                        if let Some(&id) = self.index.get(key.as_str()) {
                            push(f, id);
                        }
                    }
                    // V + hash mod buckets
                    _ => push(f, (words + f.hash() % m) as u32),
                });
            }
        }
        let words = ids.len();
        ids.append(&mut chars);
        Encoded { ids, words }
    }

    /// [`encode_grouped`](Tokenizer::encode_grouped) for many texts, on up to `threads` threads (results in
    /// input order, identical to the sequential ones).
    pub fn encode_many(&self, texts: &[&str], threads: usize) -> Vec<Encoded> {
        let threads = threads.clamp(1, 64).min(texts.len().max(1));
        if threads == 1 {
            return texts.iter().map(|t| self.encode_grouped(t)).collect();
        }
        let chunk = texts.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = texts
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|t| self.encode_grouped(t))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_only() -> TokenizerConfig {
        TokenizerConfig::hashing(1000)
            .with_word_bigrams(false)
            .without_char_ngrams()
    }

    #[test]
    fn normalises_nfkc_and_case_folds() {
        let t = Tokenizer::new(words_only()).unwrap();
        // U+FB01 LATIN SMALL LIGATURE FI -> "fi" (NFKC); full-width "ＡＢ" -> "ab";
        // "Straße" case-folds to "strasse" (full folding maps ß to "ss").
        assert_eq!(t.words("ﬁne ＡＢ Straße!"), vec!["fine", "ab", "strasse"]);
    }

    #[test]
    fn char_ngrams_of_a_word_fasttext_style() {
        // "<ab>" has 4 characters. n = 1: "a", "b" (lone "<" and ">" excluded);
        // n = 2: "<a", "ab", "b>"; n = 3: "<ab", "ab>". Total 7, plus the unigram "ab".
        let cfg = TokenizerConfig::vocabulary(1, 100)
            .with_word_bigrams(false)
            .with_char_ngrams(1, 3);
        let mut t = Tokenizer::new(cfg).unwrap();
        t.fit(["ab"]);
        let mut v = t.vocabulary().to_vec();
        v.sort();
        assert_eq!(
            v,
            vec![
                "c:<a", "c:<ab", "c:a", "c:ab", "c:ab>", "c:b", "c:b>", "w:ab"
            ]
        );
        assert_eq!(t.encode("ab").len(), 8);
        assert_eq!(t.num_ids(), 8);
    }

    #[test]
    fn bigrams_and_vocab_limits() {
        let cfg = TokenizerConfig::vocabulary(2, 3).without_char_ngrams();
        let mut t = Tokenizer::new(cfg).unwrap();
        // Counts: w:a 3, w:b 2, w:c 1, b:a|b 2, b:b|a 1, b:b|c 1 -> min_count 2 keeps
        // w:a (3), then ties at 2 in byte order: "b:a\u{1f}b" < "w:b".
        t.fit(["a b a", "a b c"]);
        assert_eq!(t.vocabulary(), ["w:a", "b:a\u{1f}b", "w:b"]);
        // "a b c": w:a -> 0, w:b -> 2, b:a|b -> 1; w:c, b:b|c unknown and dropped.
        assert_eq!(t.encode("a b c"), vec![0, 2, 1]);
    }

    #[test]
    fn hashing_is_fixed_fnv1a() {
        // FNV-1a-64 of the two bytes "w", "a", computed by hand from the definition:
        // h0 = 0xcbf29ce484222325; h1 = (h0 ^ 0x77) * 0x100000001b3; h2 = (h1 ^ 0x61) * p.
        let p = 0x100000001b3u64;
        let h1 = (0xcbf29ce484222325u64 ^ 0x77).wrapping_mul(p);
        let h2 = (h1 ^ 0x61).wrapping_mul(p);
        let t = Tokenizer::new(words_only()).unwrap();
        assert_eq!(t.encode("a"), vec![(h2 % 1000) as u32]);
    }

    #[test]
    fn invalid_configs_are_rejected() {
        assert!(Tokenizer::new(TokenizerConfig::hashing(0)).is_err());
        assert!(Tokenizer::new(TokenizerConfig::vocabulary(0, 10)).is_err());
        assert!(Tokenizer::new(TokenizerConfig::default().with_char_ngrams(3, 2)).is_err());
        assert!(
            Tokenizer::new(
                TokenizerConfig::default()
                    .without_char_ngrams()
                    .with_word_unigrams(false)
                    .with_word_bigrams(false)
            )
            .is_err()
        );
    }

    #[test]
    fn serde_round_trip_encodes_identically() {
        let mut t = Tokenizer::new(TokenizerConfig::vocabulary(1, 50)).unwrap();
        t.fit(["the cat sat", "the dog sat"]);
        let json = serde_json::to_string(&t).unwrap();
        let back: Tokenizer = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.encode("the cat"), t.encode("the cat"));
    }

    /// fastText's split, by hand: "a b a" / "a b c" count w:a 3, w:b 2, w:c 1, so min_count 2
    /// keeps ids 0 = a, 1 = b; every bigram and character n-gram is 2 + its FNV-1a hash mod
    /// 100 (the same hash as hashing mode); c is dropped, its n-grams and bigram kept. A saved
    /// tokenizer reads back the same, and one whose vocabulary holds a non-word is refused.
    /// Bug caught: bigrams counted into the vocabulary, or n-gram ids without the offset V.
    #[test]
    fn words_and_hashing_gives_words_their_own_ids_and_hashes_the_rest() {
        let features = Features::WordsAndHashing {
            min_count: 2,
            max_words: 10,
            buckets: 100,
        };
        let cfg = TokenizerConfig {
            features,
            ..TokenizerConfig::default()
        }
        .with_char_ngrams(2, 2);
        let mut t = Tokenizer::new(cfg.clone()).unwrap();
        t.fit(["a b a", "a b c"]);
        assert_eq!(t.vocabulary(), ["w:a", "w:b"]);
        assert_eq!(t.num_ids(), 102);
        let hashed = Tokenizer::new(TokenizerConfig {
            features: Features::Hashing { buckets: 100 },
            ..cfg
        })
        .unwrap();
        let (ours, theirs) = (t.encode_grouped("b c"), hashed.encode_grouped("b c"));
        // words: b, (c dropped), bigram b|c; characters: <b b> <c c>
        assert_eq!(ours.words, 2);
        assert_eq!(ours.ids[0], 1);
        assert_eq!(ours.ids[1], 2 + theirs.ids[2]);
        let chars: Vec<u32> = theirs.ids[theirs.words..].iter().map(|h| 2 + h).collect();
        assert_eq!(&ours.ids[ours.words..], &chars[..]);

        let json = serde_json::to_string(&t).unwrap();
        let back: Tokenizer = serde_json::from_str(&json).unwrap();
        assert_eq!(back.encode("a b c"), t.encode("a b c"));
        let bad = json.replace("\"w:b\"", "\"c:b>\"");
        assert!(serde_json::from_str::<Tokenizer>(&bad).is_err(), "{bad}");
    }

    #[test]
    fn max_chars_truncates_before_normalising() {
        let t = Tokenizer::new(words_only().with_max_chars(5)).unwrap();
        assert_eq!(t.words("hello world"), vec!["hello"]);
    }
}
