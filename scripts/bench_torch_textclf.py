#!/usr/bin/env python3
"""PyTorch counterpart of `stoke bench train --data synthetic`: the same model, sizes, batch size,
data shape and optimizers, on the CPU, timed the same way (untimed warm-up iterations, then timed
iterations of batching + forward + loss + backward + step).

Model: EmbeddingBag(2^18, 64, mean) -> Linear(64, 256) -> BatchNorm1d -> ReLU -> Dropout(0.2)
-> Linear(256, 4); cross-entropy; optional L2 penalty beta * sum(w^2) over the weights (rank >= 2)
in the loss, as stoke's `--l2`.

  python3 scripts/bench_torch_textclf.py --threads 1 --embedding dense --l2 1e-5
  python3 scripts/bench_torch_textclf.py --threads 1 --embedding sparse --optimizer adagrad
  python3 scripts/bench_torch_textclf.py --threads 1 --variant default --variant foreach --variant fused

`--variant` picks torch.optim's implementation: `default` (the single-tensor loop torch uses on
the CPU when neither flag is given), `foreach=True` (multi-tensor) or `fused=True` (one kernel; on
the CPU for SGD, Adam, AdamW and Adagrad). A variant the installed torch refuses for an optimizer
is skipped with a JSON line saying so. The allocator is whatever the environment says: run with
MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 for the condition stoke's
binary sets itself with mallopt (scripts/bench_compare.py runs both).

`--embedding sparse` uses EmbeddingBag(sparse=True), which only SGD (no momentum), Adagrad and
SparseAdam (here on the table, with Adam on the dense layers) accept. Prints one JSON object per optimizer on stdout.
"""

import argparse
import json
import resource
import time

import numpy as np
import torch
from torch import nn

LRS = {"sgd": 0.1, "momentum": 0.1, "adagrad": 0.1, "rmsprop": 1e-3, "adam": 1e-3, "adadelta": 1.0}


class Pair:
    """SparseAdam on the embedding table, Adam on the dense layers (SparseAdam refuses dense gradients)."""

    def __init__(self, model, lr):
        table = list(model.embedding.parameters())
        rest = [p for n, p in model.named_parameters() if not n.startswith("embedding.")]
        self.optims = [torch.optim.SparseAdam(table, lr=lr), torch.optim.Adam(rest, lr=lr)]

    def zero_grad(self, set_to_none=True):
        for o in self.optims:
            o.zero_grad(set_to_none=set_to_none)

    def step(self):
        for o in self.optims:
            o.step()


VARIANTS = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def optimizer(name, model, lr, sparse, variant="default"):
    params = model.parameters()
    kw = VARIANTS[variant]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, **kw)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, **kw)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, **kw)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, **kw)
    if name == "adam":
        return Pair(model, lr) if sparse else torch.optim.Adam(params, lr=lr, **kw)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, **kw)
    raise SystemExit(f"unknown optimizer {name}")


class TextClassifier(nn.Module):
    def __init__(self, buckets, dim, hidden, classes, sparse):
        super().__init__()
        self.embedding = nn.EmbeddingBag(buckets, dim, mode="mean", sparse=sparse)
        self.hidden = nn.Sequential(
            nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(0.2)
        )
        self.output = nn.Linear(hidden, classes)

    def forward(self, ids, offsets):
        return self.output(self.hidden(self.embedding(ids, offsets)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--optimizer", action="append",
                   help="repeatable, NAME or NAME:VARIANT; default: all six (sparse: sgd, adagrad, adam)")
    p.add_argument("--embedding", choices=["dense", "sparse"], default="dense")
    p.add_argument("--variant", action="append", choices=list(VARIANTS),
                   help="repeatable; default: default (sparse: default only)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--texts", type=int, default=120_000)
    p.add_argument("--tokens", type=int, default=40)
    p.add_argument("--bucket-bits", type=int, default=18)
    p.add_argument("--classes", type=int, default=4)
    p.add_argument("--embed-dim", type=int, default=64)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--l2", type=float, default=0.0)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--iterations", type=int, default=100)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    sparse = a.embedding == "sparse"
    rng = np.random.default_rng(1)
    ids = torch.from_numpy(rng.integers(0, 1 << a.bucket_bits, size=(a.texts, a.tokens), dtype=np.int64))
    labels = torch.from_numpy(rng.integers(0, a.classes, size=a.texts, dtype=np.int64))
    names = a.optimizer or (["sgd", "adagrad", "adam"] if sparse else list(LRS))

    runs = [(n, v) for n in names for v in (a.variant or ["default"])]
    runs = [tuple(n.split(":")) if ":" in n else (n, v) for n, v in runs]
    for name, variant in dict.fromkeys(runs):
        torch.manual_seed(1)
        model = TextClassifier(1 << a.bucket_bits, a.embed_dim, a.hidden, a.classes, sparse)
        try:
            opt = optimizer(name, model, LRS[name], sparse, variant)
        except (RuntimeError, ValueError, TypeError) as e:
            print(json.dumps({"optimizer": name, "variant": variant, "embedding": a.embedding,
                              "threads": a.threads, "skipped": str(e).splitlines()[0]}), flush=True)
            continue
        weights = [w for w in model.parameters() if w.dim() >= 2]
        loss_fn = nn.CrossEntropyLoss()
        order = torch.randperm(a.texts)
        done, position, loss_sum, start = 0, 0, 0.0, time.perf_counter()
        while done < a.warmup + a.iterations:
            if done == a.warmup:
                start = time.perf_counter()
            if position + a.batch_size > a.texts:
                order, position = torch.randperm(a.texts), 0
            batch = order[position : position + a.batch_size]
            position += a.batch_size
            flat = ids[batch].reshape(-1)
            offsets = torch.arange(0, flat.numel(), a.tokens)
            loss = loss_fn(model(flat, offsets), labels[batch])
            if a.l2 > 0:
                loss = loss + a.l2 * sum((w * w).sum() for w in weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if done >= a.warmup:
                loss_sum += loss.item()
            done += 1
        seconds = time.perf_counter() - start
        print(json.dumps({
            "optimizer": name,
            "variant": variant,
            "embedding": a.embedding,
            "threads": a.threads,
            "l2": a.l2,
            "batch_size": a.batch_size,
            "examples_per_s": a.iterations * a.batch_size / seconds,
            "ms_per_step": seconds * 1e3 / a.iterations,
            "peak_rss_mib_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "mean_loss": loss_sum / a.iterations,
            "torch": torch.__version__,
        }), flush=True)


if __name__ == "__main__":
    main()
