//! User data files: formats, gzip, label kinds, and every kind of bad input.

mod common;

use std::io::Write;
use std::path::PathBuf;

use common::temp_dir;
use stoke_text::data::{DataError, Format, LoadOptions, load_file, summarize};

fn write(name: &str, content: &[u8]) -> PathBuf {
    let path = temp_dir("files").join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn gzip(content: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(content).unwrap();
    enc.finish().unwrap()
}

fn err(path: &PathBuf, opts: &LoadOptions) -> (DataError, String) {
    let e = load_file(path, opts).unwrap_err();
    let msg = e.to_string();
    (e, msg)
}

#[test]
fn csv_with_string_labels_and_quotes() {
    let p = write(
        "a.csv",
        b"id,text,label\n1,\"hello, world\",pos\n2,\"say \"\"hi\"\"\",neg\n3,fine,pos\n",
    );
    let l = load_file(&p, &LoadOptions::default()).unwrap();
    assert_eq!(l.texts.classes, vec!["neg", "pos"]);
    assert_eq!(l.texts.examples[0].text, "hello, world");
    assert_eq!(l.texts.examples[1].text, "say \"hi\"");
    assert_eq!(
        l.texts.examples.iter().map(|e| e.label).collect::<Vec<_>>(),
        vec![1, 0, 1]
    );
    assert_eq!(l.skipped.count, 0);
    assert_eq!(l.texts.name, "a");
}

#[test]
fn tsv_with_integer_labels_sorted_numerically_and_custom_columns() {
    let p = write("b.tsv", b"y\tsentence\n10\tten\n2\ttwo\n10\tagain\n");
    let opts = LoadOptions::default()
        .with_text_field("sentence")
        .with_label_field("y");
    let l = load_file(&p, &opts).unwrap();
    assert_eq!(l.texts.classes, vec!["2", "10"]); // numeric, not "10" < "2"
    assert_eq!(l.texts.examples[0].label, 1);
}

#[test]
fn csv_without_header_uses_column_indices() {
    let p = write("c.csv", b"spam,buy now\nham,see you\n");
    let opts = LoadOptions::default()
        .with_header(false)
        .with_text_field("1")
        .with_label_field("0");
    let l = load_file(&p, &opts).unwrap();
    assert_eq!(l.texts.examples.len(), 2);
    assert_eq!(l.texts.classes, vec!["ham", "spam"]);
    let bad = LoadOptions::default().with_header(false);
    assert!(matches!(
        load_file(&p, &bad),
        Err(DataError::Options { .. })
    ));
}

#[test]
fn jsonl_gzip_detected_by_content_not_name() {
    let body = b"{\"t\": \"first\", \"c\": 1}\n{\"t\": \"second\", \"c\": \"x\"}\n";
    let opts = LoadOptions::default()
        .with_text_field("t")
        .with_label_field("c");
    // A gzip file named .jsonl (no .gz) and a plain file named .jsonl.gz both load.
    let l1 = load_file(&write("d.jsonl", &gzip(body)), &opts).unwrap();
    let l2 = load_file(&write("e.jsonl.gz", body), &opts).unwrap();
    assert_eq!(l1.texts.examples, l2.texts.examples);
    assert_eq!(l1.texts.classes, vec!["1", "x"]); // mixed kinds: compared as strings
    // Unknown extension: an error unless the format is given.
    let p = write("f.data", &gzip(body));
    assert!(matches!(
        load_file(&p, &opts),
        Err(DataError::UnknownFormat { .. })
    ));
    assert!(load_file(&p, &opts.clone().with_format(Format::Jsonl)).is_ok());
}

#[test]
fn every_bad_input_names_file_line_and_field() {
    let o = LoadOptions::default();
    // Malformed CSV row (wrong number of fields) on line 3.
    let p = write("m.csv", b"text,label\ngood,a\nbad,a,extra\n");
    let (e, m) = err(&p, &o);
    assert!(matches!(e, DataError::Malformed { line: 3, .. }), "{m}");
    assert!(m.contains("m.csv") && m.contains("line 3"), "{m}");
    // Malformed JSON on line 2.
    let p = write(
        "m.jsonl",
        b"{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \n",
    );
    let (e, m) = err(&p, &o);
    assert!(matches!(e, DataError::Malformed { line: 2, .. }), "{m}");
    // Missing column in the header.
    let p = write("h.csv", b"body,label\nx,a\n");
    let (e, m) = err(&p, &o);
    assert!(matches!(e, DataError::MissingColumn { line: 1, .. }), "{m}");
    assert!(m.contains("\"text\"") && m.contains("body"), "{m}");
    // A quoted column name with a newline: escaped in the message, which stays one line.
    let p = write("n.csv", b"\"bo\ndy\",label\nx,a\n");
    let (_, m) = err(&p, &o);
    assert!(
        !m.contains('\n') && m.contains("columns: bo\\ndy, label"),
        "{m}"
    );
    // Missing key in JSONL.
    let p = write(
        "k.jsonl",
        b"{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n",
    );
    let (e, m) = err(&p, &o);
    assert!(matches!(e, DataError::MissingField { line: 2, .. }), "{m}");
    assert!(m.contains("k.jsonl") && m.contains("\"label\""), "{m}");
    // Empty text.
    let p = write("e.csv", b"text,label\nok,a\n   ,b\n");
    let (e, m) = err(&p, &o);
    assert!(matches!(e, DataError::EmptyText { line: 3, .. }), "{m}");
    assert!(m.contains("\"text\""), "{m}");
    // Label not seen in training.
    let p = write("u.csv", b"text,label\nx,pos\ny,maybe\n");
    let trained = o.clone().with_classes(vec!["neg".into(), "pos".into()]);
    let (e, m) = err(&p, &trained);
    assert!(matches!(e, DataError::UnknownLabel { line: 3, .. }), "{m}");
    assert!(
        m.contains("maybe") && m.contains("neg, pos") && m.contains("\"label\""),
        "{m}"
    );
    // Invalid UTF-8 in the text field (CSV) and in a JSONL line.
    let p = write("x.csv", b"text,label\nok,a\nbad \xff\xfe,a\n");
    let (e, m) = err(&p, &o);
    assert!(matches!(e, DataError::InvalidUtf8 { line: 3, .. }), "{m}");
    assert!(m.contains("field \"text\""), "{m}");
    let p = write(
        "x.jsonl",
        b"{\"text\": \"ok\", \"label\": 1}\n{\"text\": \"\xc3\x28\", \"label\": 1}\n",
    );
    assert!(matches!(
        err(&p, &o).0,
        DataError::InvalidUtf8 { line: 2, .. }
    ));
    // A label that is neither string nor integer.
    let p = write("f.jsonl", b"{\"text\": \"a\", \"label\": 1.5}\n");
    let (e, m) = err(&p, &o);
    assert!(matches!(e, DataError::BadLabel { line: 1, .. }), "{m}");
    // Empty files: zero bytes, only a header, only whitespace, empty gzip.
    for (name, content) in [
        ("z.csv", b"".to_vec()),
        ("hdr.csv", b"text,label\n".to_vec()),
        ("ws.jsonl", b"\n \n".to_vec()),
        ("z.jsonl.gz", gzip(b"")),
    ] {
        let p = write(name, &content);
        let (e, m) = err(&p, &o);
        assert!(matches!(e, DataError::Empty { .. }), "{name}: {m}");
        assert!(m.contains(name), "{m}");
    }
    // Broken gzip.
    let mut g = gzip(b"text,label\na,b\n");
    g.truncate(12);
    let (e, m) = err(&write("g.csv", &g), &o);
    assert!(matches!(e, DataError::Gzip { .. }), "{m}");
    // Missing file.
    assert!(matches!(
        load_file(&PathBuf::from("/nonexistent/x.csv"), &o),
        Err(DataError::Io { .. })
    ));
}

#[test]
fn skip_invalid_reports_count_and_first_lines() {
    let p = write(
        "s.jsonl",
        b"{\"text\": \"a\", \"label\": 0}\nnot json\n{\"text\": \"\", \"label\": 1}\n{\"text\": \"b\", \"label\": 1}\n{\"label\": 1}\n",
    );
    // Without the option: the first bad row is an error.
    assert!(matches!(
        load_file(&p, &LoadOptions::default()),
        Err(DataError::Malformed { line: 2, .. })
    ));
    let l = load_file(&p, &LoadOptions::default().with_skip_invalid(true)).unwrap();
    assert_eq!(l.texts.examples.len(), 2);
    assert_eq!(l.skipped.count, 3);
    assert_eq!(l.skipped.first_lines, vec![2, 3, 5]);
    assert_eq!(l.skipped.first_errors.len(), 3);
    // Unknown labels are skippable too, and counted.
    let p = write("s2.csv", b"text,label\na,x\nb,y\nc,x\n");
    let l = load_file(
        &p,
        &LoadOptions::default()
            .with_skip_invalid(true)
            .with_classes(vec!["x".into()]),
    )
    .unwrap();
    assert_eq!(
        (
            l.texts.examples.len(),
            l.skipped.count,
            l.skipped.first_lines.clone()
        ),
        (2, 1, vec![3])
    );
    // All rows invalid: still an error, never an empty data set.
    let p = write("s3.csv", b"text,label\n ,x\n");
    assert!(load_file(&p, &LoadOptions::default().with_skip_invalid(true)).is_err());
}

#[test]
fn summary_of_a_user_file() {
    let p = write("sum.csv", b"text,label\nab,x\nabcd,x\nabcdef,y\n");
    let s = summarize(&load_file(&p, &LoadOptions::default()).unwrap().texts);
    assert_eq!(s.rows, 3);
    assert_eq!(s.classes[0].count, 2);
    assert_eq!(s.length_chars.max, 6);
    assert_eq!(s.length_chars.p50, 4);
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.contains("\"rows\":3"));
}
