//! The tokenizer on real text: Thai segmentation, other scripts, determinism.

use stoke_text::data::{Bundled, load_bundled};
use stoke_text::tokenizer::{Segmenter, Tokenizer, TokenizerConfig};

/// Two Thai sentences of the bundled langid data (checked below to be in it).
const THAI_1: &str = "สนุก เรียนรู้ทุกวัน กับ พกฉ.";
const THAI_2: &str = "ตรงประตูทางเข้า ของ บัณฑิต.";

#[test]
fn thai_sentences_segment_into_the_expected_words() {
    let splits = load_bundled(Bundled::Langid).unwrap();
    let thai = splits
        .train
        .classes
        .iter()
        .position(|c| c == "thai")
        .unwrap();
    let all = splits
        .train
        .examples
        .iter()
        .chain(&splits.valid.examples)
        .chain(&splits.test.examples);
    let found: Vec<&str> = all
        .filter(|e| e.label == thai)
        .map(|e| e.text.as_str())
        .filter(|t| *t == THAI_1 || *t == THAI_2)
        .collect();
    assert_eq!(
        found.len(),
        2,
        "the sentences must come from the langid data"
    );

    let t = Tokenizer::new(TokenizerConfig::default()).unwrap();
    // Expected words written by hand (a Thai reader's segmentation into dictionary words):
    //   สนุก "fun" | เรียนรู้ "learn" | ทุก "every" | วัน "day" | กับ "with" | พกฉ (an
    //   abbreviation, one token; the final "." is punctuation and dropped).
    assert_eq!(
        t.words(THAI_1),
        vec!["สนุก", "เรียนรู้", "ทุก", "วัน", "กับ", "พกฉ"]
    );
    //   ตรง "at" | ประตู "door" | ทาง "way" | เข้า "enter" (ทางเข้า "entrance" is a compound
    //   of two words and is split, as the segmenter splits compounds) | ของ "of" |
    //   บัณฑิต "graduate".
    assert_eq!(
        t.words(THAI_2),
        vec!["ตรง", "ประตู", "ทาง", "เข้า", "ของ", "บัณฑิต"]
    );
}

#[test]
fn thai_segmentation_loses_no_letters() {
    // A long sentence of the data: the words, joined, are the sentence without spaces and
    // punctuation, and the hard words come out whole.
    let s = "ก็ให้กลับบ้าน แต่พอกลับมาที่บ้าน ครั้งนี้ ก็ไม่ดีขึ้นเลยค่ะ และวันนี้ดิฉันกับแม่ ไปพบแพทย์ที่รักษาพี่สาว เพื่อปรึกษาเรื่องจะส่งตัวมาที่ รพ.";
    let t = Tokenizer::new(TokenizerConfig::default()).unwrap();
    let words = t.words(s);
    let letters: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .collect();
    assert_eq!(words.concat(), letters);
    for w in ["กลับ", "บ้าน", "ดิฉัน", "แพทย์", "รักษา", "เรื่อง"]
    {
        assert!(words.iter().any(|x| x == w), "{w} not found in {words:?}");
    }
    // The dictionary-only segmenter is available too and also loses nothing.
    let d =
        Tokenizer::new(TokenizerConfig::default().with_segmenter(Segmenter::Dictionary)).unwrap();
    assert_eq!(d.words(s).concat(), letters);
}

#[test]
fn other_scripts_and_case_folding() {
    let t = Tokenizer::new(TokenizerConfig::default()).unwrap();
    // Japanese without spaces: the dictionary splits こんにちは "hello" | 世界 "world".
    assert_eq!(t.words("こんにちは世界"), vec!["こんにちは", "世界"]);
    // Greek final sigma and Cyrillic capitals fold; German ß folds to "ss".
    assert_eq!(
        t.words("ΟΔΟΣ Москва STRASSE Straße"),
        vec!["οδοσ", "москва", "strasse", "strasse"]
    );
    // Ids are a pure function of the text.
    assert_eq!(t.encode("Hello world"), t.encode("hello WORLD"));
    assert!(!t.encode("Hello world").is_empty());
    assert!(t.encode("   ...   ").is_empty());
}

/// `encode_grouped` puts a text's word features first and says how many: they are what a
/// words-only tokenizer emits, and the rest what a characters-only one emits (each in order).
#[test]
fn grouped_ids_are_the_word_features_then_the_character_ngrams() {
    let all = TokenizerConfig::hashing(1 << 20);
    let words = all.clone().without_char_ngrams();
    let chars = all
        .clone()
        .with_word_unigrams(false)
        .with_word_bigrams(false);
    let (all, words, chars) = (
        Tokenizer::new(all).unwrap(),
        Tokenizer::new(words).unwrap(),
        Tokenizer::new(chars).unwrap(),
    );
    let text = "Stoke the fire, stoke it again";
    let e = all.encode_grouped(text);
    // 6 words: 6 unigrams and 5 bigrams.
    assert_eq!(e.words, 11);
    assert_eq!(e.ids[..e.words], words.encode(text)[..]);
    assert_eq!(e.ids[e.words..], chars.encode(text)[..]);
    assert_eq!(all.encode(text), e.ids);
}
