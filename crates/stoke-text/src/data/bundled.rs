//! The three data sets bundled in the repository's `data/` folder.
//!
//! The files are embedded in the binary with `include_bytes!`, so a program built from this
//! crate works from any directory. Each data set is split 80 / 10 / 10 (train / valid /
//! test) by [`split_stratified`](super::split_stratified) with the fixed seed
//! [`BUNDLED_SPLIT_SEED`], so the parts are the same on every machine.
//!
//! | name | rows | classes | text |
//! |---|---|---|---|
//! | `sentiment-uci` | 3,000 | `negative`, `positive` (1,500 each) | one English review sentence |
//! | `langid` | 74,141 | 75 language names, sorted | one sentence |
//! | `spam-assassin` | 6,046 | `ham` 4,150, `spam` 1,896 | `Subject:` and `From:` lines, blank line, raw body |
//!
//! **sentiment-uci.** Each of `amazon.json`, `imdb.json`, `yelp.json` is a JSON array of
//! 1,000 `{"text", "class": 0|1}` entries followed by one trailing entry
//! `{"text": "", "class": null}` (an artefact of the upstream fixture). The loader checks
//! that the last entry of each file is exactly that and skips exactly those three entries;
//! any other empty text or missing class anywhere is an error, so nothing else can vanish.
//! Class 0 is `negative`, class 1 `positive`.
//!
//! **spam-assassin.** Messages are raw RFC 822 e-mails. Most headers (`Received:`,
//! `Return-Path:`, `Message-Id:`, list headers, ...) describe the route the mail took in
//! 2002 and would let a model learn mail servers instead of content, so the loader keeps
//! only the `Subject:` and `From:` headers (unfolded, in that order, each on its own line,
//! empty when absent), then a blank line, then the body exactly as stored (MIME parts,
//! HTML and encodings are not decoded). A message without a blank line has no body.

use std::str::FromStr;

use super::file::maybe_gunzip;
use super::{DataError, Example, LabelledTexts, Splits, split_stratified};

/// The seed of the bundled data sets' train / valid / test split.
pub const BUNDLED_SPLIT_SEED: u64 = 20_260_101;

static SENTIMENT_AMAZON: &[u8] = include_bytes!("../../../../data/sentiment-uci/amazon.json");
static SENTIMENT_IMDB: &[u8] = include_bytes!("../../../../data/sentiment-uci/imdb.json");
static SENTIMENT_YELP: &[u8] = include_bytes!("../../../../data/sentiment-uci/yelp.json");
static LANGID: &[u8] = include_bytes!("../../../../data/langid/sentences.tsv.gz");
static SPAM: &[u8] = include_bytes!("../../../../data/spam-assassin/messages.jsonl.gz");

/// A bundled data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bundled {
    /// UCI Sentiment Labelled Sentences: 3,000 English sentences, negative / positive.
    SentimentUci,
    /// Language identification: 74,141 sentences in 75 languages (incl. Thai, Chinese, Japanese).
    Langid,
    /// SpamAssassin public corpus: 6,046 e-mails, ham / spam.
    SpamAssassin,
}

impl Bundled {
    /// All bundled data sets.
    pub fn all() -> [Bundled; 3] {
        [
            Bundled::SentimentUci,
            Bundled::Langid,
            Bundled::SpamAssassin,
        ]
    }

    /// The name used on the command line and in [`LabelledTexts::name`].
    pub fn name(self) -> &'static str {
        match self {
            Bundled::SentimentUci => "sentiment-uci",
            Bundled::Langid => "langid",
            Bundled::SpamAssassin => "spam-assassin",
        }
    }
}

impl std::fmt::Display for Bundled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Bundled {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Bundled::all()
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| DataError::UnknownBundled {
                name: s.to_string(),
                known: Bundled::all().map(|b| b.name()).join(", "),
            })
    }
}

/// Loads a bundled data set (all rows, before splitting).
pub fn load_bundled_all(which: Bundled) -> Result<LabelledTexts, DataError> {
    match which {
        Bundled::SentimentUci => load_sentiment(),
        Bundled::Langid => load_langid(),
        Bundled::SpamAssassin => load_spam(),
    }
}

/// Loads a bundled data set and splits it 80 / 10 / 10 with [`BUNDLED_SPLIT_SEED`].
pub fn load_bundled(which: Bundled) -> Result<Splits, DataError> {
    let all = load_bundled_all(which)?;
    Ok(split_stratified(&all, 0.1, 0.1, BUNDLED_SPLIT_SEED))
}

fn bundled_err(name: &str, line: usize, message: impl Into<String>) -> DataError {
    DataError::Bundled {
        name: name.to_string(),
        line,
        message: message.into(),
    }
}

fn load_sentiment() -> Result<LabelledTexts, DataError> {
    let mut examples = Vec::with_capacity(3000);
    for (file, bytes) in [
        ("sentiment-uci/amazon.json", SENTIMENT_AMAZON),
        ("sentiment-uci/imdb.json", SENTIMENT_IMDB),
        ("sentiment-uci/yelp.json", SENTIMENT_YELP),
    ] {
        let entries: Vec<serde_json::Value> =
            serde_json::from_slice(bytes).map_err(|source| DataError::BundledJson {
                name: file.to_string(),
                line: source.line(),
                source,
            })?;
        let n = entries.len();
        // The documented trailing entry: exactly {"text": "", "class": null}.
        let is_trailer = |v: &serde_json::Value| {
            v.as_object().is_some_and(|o| {
                o.len() == 2
                    && o.get("text").and_then(|t| t.as_str()) == Some("")
                    && o.get("class").is_some_and(|c| c.is_null())
            })
        };
        if n == 0 || !is_trailer(&entries[n - 1]) {
            return Err(bundled_err(
                file,
                n,
                "expected the last entry to be the documented empty {\"text\": \"\", \"class\": null}",
            ));
        }
        for (i, v) in entries[..n - 1].iter().enumerate() {
            let text = v.get("text").and_then(|t| t.as_str());
            let class = v.get("class").and_then(|c| c.as_u64());
            match (text, class) {
                (Some(t), Some(c @ (0 | 1))) if !t.trim().is_empty() => examples.push(Example {
                    text: t.to_string(),
                    label: c as usize,
                }),
                _ => {
                    return Err(bundled_err(
                        file,
                        i + 1,
                        format!(
                            "entry {} is not {{\"text\": non-empty, \"class\": 0|1}}: {v}",
                            i + 1
                        ),
                    ));
                }
            }
        }
    }
    Ok(LabelledTexts {
        name: Bundled::SentimentUci.name().into(),
        classes: vec!["negative".into(), "positive".into()],
        examples,
    })
}

fn load_langid() -> Result<LabelledTexts, DataError> {
    let name = "langid/sentences.tsv.gz";
    let bytes = maybe_gunzip(&super::file::bundled_path(name), LANGID.to_vec())?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        bundled_err(name, line, "invalid UTF-8")
    })?;
    let mut lines = text.lines();
    if lines.next() != Some("label\ttext") {
        return Err(bundled_err(
            name,
            1,
            "expected the header \"label<TAB>text\"",
        ));
    }
    let mut rows: Vec<(&str, &str)> = Vec::with_capacity(75_000);
    for (i, l) in lines.enumerate() {
        match l.split_once('\t') {
            Some((label, t)) if !label.is_empty() && !t.trim().is_empty() && !t.contains('\t') => {
                rows.push((label, t))
            }
            _ => {
                return Err(bundled_err(
                    name,
                    i + 2,
                    "expected \"label<TAB>non-empty text\"",
                ));
            }
        }
    }
    let mut classes: Vec<String> = rows.iter().map(|r| r.0.to_string()).collect();
    classes.sort_unstable();
    classes.dedup();
    let examples = rows
        .into_iter()
        .map(|(label, t)| Example {
            text: t.to_string(),
            label: classes
                .binary_search_by(|c| c.as_str().cmp(label))
                .unwrap_or(0),
        })
        .collect();
    Ok(LabelledTexts {
        name: Bundled::Langid.name().into(),
        classes,
        examples,
    })
}

fn load_spam() -> Result<LabelledTexts, DataError> {
    let name = "spam-assassin/messages.jsonl.gz";
    let bytes = maybe_gunzip(&super::file::bundled_path(name), SPAM.to_vec())?;
    let classes = vec!["ham".to_string(), "spam".to_string()];
    let mut examples = Vec::with_capacity(6100);
    let pieces: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let n_pieces = pieces.len();
    for (i, l) in pieces.into_iter().enumerate() {
        if l.is_empty() && i + 1 == n_pieces {
            break; // the file's final newline
        }
        #[derive(serde::Deserialize)]
        struct Message {
            label: String,
            text: String,
        }
        let m: Message = serde_json::from_slice(l).map_err(|source| DataError::BundledJson {
            name: name.to_string(),
            line: i + 1,
            source,
        })?;
        let label = match m.label.as_str() {
            "ham" => 0,
            "spam" => 1,
            other => {
                return Err(bundled_err(
                    name,
                    i + 1,
                    format!("unknown label \"{other}\""),
                ));
            }
        };
        let text = email_text(&m.text);
        if text.trim().is_empty() {
            return Err(bundled_err(
                name,
                i + 1,
                "message has no subject, sender or body",
            ));
        }
        examples.push(Example { text, label });
    }
    Ok(LabelledTexts {
        name: Bundled::SpamAssassin.name().into(),
        classes,
        examples,
    })
}

/// Keeps the `Subject:` and `From:` headers and the body of a raw RFC 822 message.
///
/// Headers end at the first empty line (`\n\n` or `\r\n\r\n`). Folded header lines
/// (continuations starting with a space or tab) are joined with a single space. The result
/// is `"Subject: <s>\nFrom: <f>\n\n<body>"`.
pub fn email_text(raw: &str) -> String {
    let (head, body) = split_header_body(raw);
    let mut subject: Option<String> = None;
    let mut from: Option<String> = None;
    let mut current: Option<(String, String)> = None;
    let mut flush = |cur: Option<(String, String)>| {
        if let Some((k, v)) = cur {
            let slot = match k.to_ascii_lowercase().as_str() {
                "subject" => &mut subject,
                "from" => &mut from,
                _ => return,
            };
            if slot.is_none() {
                *slot = Some(v.trim().to_string());
            }
        }
    };
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = current.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        flush(current.take());
        if let Some((k, v)) = line.split_once(':') {
            current = Some((k.trim().to_string(), v.to_string()));
        }
    }
    flush(current.take());
    format!(
        "Subject: {}\nFrom: {}\n\n{}",
        subject.unwrap_or_default(),
        from.unwrap_or_default(),
        body
    )
}

fn split_header_body(raw: &str) -> (&str, &str) {
    let lf = raw.find("\n\n").map(|i| (i, 2));
    let crlf = raw.find("\r\n\r\n").map(|i| (i, 4));
    let first = match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match first {
        Some((i, n)) => (&raw[..i], &raw[i + n..]),
        None => (raw, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_keeps_subject_and_from_only() {
        let raw = "Received: from x by y\n\tfor z\nFrom: Ann <a@b.c>\nSubject: Hello\n  world\nX-Spam: yes\n\nBody line 1\n\nBody line 2";
        assert_eq!(
            email_text(raw),
            "Subject: Hello world\nFrom: Ann <a@b.c>\n\nBody line 1\n\nBody line 2"
        );
        assert_eq!(email_text("Subject: only"), "Subject: only\nFrom: \n\n");
    }

    #[test]
    fn names_round_trip_and_unknown_lists_known() {
        for b in Bundled::all() {
            assert_eq!(b.name().parse::<Bundled>().unwrap(), b);
        }
        let err = "imdb".parse::<Bundled>().unwrap_err().to_string();
        assert!(
            err.contains("sentiment-uci")
                && err.contains("langid")
                && err.contains("spam-assassin")
        );
    }
}
