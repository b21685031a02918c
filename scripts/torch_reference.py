#!/usr/bin/env python3
"""Record reference trajectories from torch.optim for stoke-optim's parity tests.

Run by hand (CI never needs Python):

    pip install torch numpy
    python3 scripts/torch_reference.py

For each optimizer it writes crates/stoke-optim/tests/fixtures/<name>.json: several
configurations, each replaying the same seeded gradients (very different scales per step,
one step with a zero gradient for every parameter and one with a zero gradient for the bias)
on two parameters of different rank, `w` (3x4) and `b` (4), in float64. A configuration's
`config` uses stoke's field names; `torch` says what was run.
"""

import json
import math
import pathlib

import numpy as np
import torch

STEPS = 36
ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "stoke-optim" / "tests" / "fixtures"
SHAPES = {"w": [3, 4], "b": [4]}


def gradients(seed):
    """Seeded gradients whose scale jumps over five decades from step to step."""
    rng = np.random.default_rng(seed)
    steps = []
    for t in range(STEPS):
        step = {}
        for name, shape in SHAPES.items():
            scale = 10.0 ** rng.uniform(-3.0, 2.0)
            g = rng.standard_normal(shape) * scale
            if t == 7 or (t == 19 and name == "b"):
                g = np.zeros(shape)
            step[name] = g
        steps.append(step)
    return steps


def initial(seed):
    rng = np.random.default_rng(seed + 1000)
    return {name: rng.standard_normal(shape) * 0.5 for name, shape in SHAPES.items()}


def run(make, lrs, seed):
    init = initial(seed)
    grads = gradients(seed)
    params = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in init.items()}
    opt = make([params["w"], params["b"]])
    trajectory = []
    for t in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = lrs[t]
        for n, p in params.items():
            p.grad = torch.tensor(grads[t][n], dtype=torch.float64)
        opt.step()
        trajectory.append({n: p.detach().numpy().ravel().tolist() for n, p in params.items()})
    return {
        "shapes": SHAPES,
        "lrs": lrs,
        "init": {n: v.ravel().tolist() for n, v in init.items()},
        "grads": [{n: g.ravel().tolist() for n, g in step.items()} for step in grads],
        "params": trajectory,
    }


def constant(lr):
    return [lr] * STEPS


def changing(lr):
    """Constant, then a step decay halfway, then a warm restart: exercises lr-dependent state."""
    return [lr if t < 12 else (lr * 0.1 if t < 24 else lr * 2.0) for t in range(STEPS)]


def case(name, config, torch_desc, make, lrs, seed):
    out = {"name": name, "config": config, "torch": torch_desc}
    out.update(run(make, lrs, seed))
    return out


def sgd_cases():
    O = torch.optim.SGD
    return [
        case("plain", {"momentum": 0.0, "form": "PyTorch"}, "SGD(lr=0.05)",
             lambda p: O(p, lr=0.05), constant(0.05), 1),
        case("momentum", {"momentum": 0.9, "form": "PyTorch"}, "SGD(momentum=0.9)",
             lambda p: O(p, lr=0.01, momentum=0.9), constant(0.01), 2),
        case("dampening", {"momentum": 0.9, "dampening": 0.5, "form": "PyTorch"},
             "SGD(momentum=0.9, dampening=0.5)",
             lambda p: O(p, lr=0.01, momentum=0.9, dampening=0.5), constant(0.01), 3),
        case("nesterov", {"momentum": 0.8, "nesterov": True, "form": "PyTorch"},
             "SGD(momentum=0.8, nesterov=True)",
             lambda p: O(p, lr=0.01, momentum=0.8, nesterov=True), constant(0.01), 4),
        case("weight_decay", {"momentum": 0.9, "weight_decay": 0.05, "form": "PyTorch"},
             "SGD(momentum=0.9, weight_decay=0.05)",
             lambda p: O(p, lr=0.01, momentum=0.9, weight_decay=0.05), constant(0.01), 5),
        case("changing_lr", {"momentum": 0.9, "form": "PyTorch"},
             "SGD(momentum=0.9) with lr 0.01, 0.001, 0.02",
             lambda p: O(p, lr=0.01, momentum=0.9), changing(0.01), 6),
    ]


def rmsprop_cases():
    O = torch.optim.RMSprop
    out = {"epsilon_placement": "OutsideSqrt"}
    return [
        case("pytorch_defaults", {"decay": 0.99, "epsilon": 1e-8, **out}, "RMSprop(lr=0.01)",
             lambda p: O(p, lr=0.01), constant(0.01), 11),
        case("decay_0.9", {"decay": 0.9, "epsilon": 1e-8, **out}, "RMSprop(alpha=0.9)",
             lambda p: O(p, lr=0.01, alpha=0.9), constant(0.01), 12),
        case("centered", {"decay": 0.9, "epsilon": 1e-6, "centered": True, **out},
             "RMSprop(alpha=0.9, eps=1e-6, centered=True)",
             lambda p: O(p, lr=0.005, alpha=0.9, eps=1e-6, centered=True), constant(0.005), 13),
        case("momentum", {"decay": 0.99, "epsilon": 1e-8, "momentum": 0.5, **out},
             "RMSprop(momentum=0.5)",
             lambda p: O(p, lr=0.005, momentum=0.5), constant(0.005), 14),
        case("everything", {"decay": 0.95, "epsilon": 1e-7, "centered": True, "momentum": 0.3,
                            "weight_decay": 0.02, **out},
             "RMSprop(alpha=0.95, eps=1e-7, centered=True, momentum=0.3, weight_decay=0.02)",
             lambda p: O(p, lr=0.003, alpha=0.95, eps=1e-7, centered=True, momentum=0.3,
                         weight_decay=0.02), changing(0.003), 15),
    ]


def adagrad_cases():
    O = torch.optim.Adagrad
    out = {"epsilon_placement": "OutsideSqrt"}
    return [
        case("pytorch_defaults", {"epsilon": 1e-10, **out}, "Adagrad(lr=0.1)",
             lambda p: O(p, lr=0.1), constant(0.1), 21),
        case("lr_decay", {"epsilon": 1e-10, "lr_decay": 0.05, **out}, "Adagrad(lr_decay=0.05)",
             lambda p: O(p, lr=0.1, lr_decay=0.05), constant(0.1), 22),
        case("initial_accumulator", {"epsilon": 1e-10, "initial_accumulator": 0.1, **out},
             "Adagrad(initial_accumulator_value=0.1)",
             lambda p: O(p, lr=0.1, initial_accumulator_value=0.1), constant(0.1), 23),
        case("weight_decay", {"epsilon": 1e-6, "weight_decay": 0.1, **out},
             "Adagrad(eps=1e-6, weight_decay=0.1)",
             lambda p: O(p, lr=0.1, eps=1e-6, weight_decay=0.1), changing(0.1), 24),
    ]


def adam_cases():
    return [
        case("defaults", {}, "Adam(lr=0.01)",
             lambda p: torch.optim.Adam(p, lr=0.01), constant(0.01), 31),
        case("betas", {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-6}, "Adam(betas=(0.5, 0.9), eps=1e-6)",
             lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.5, 0.9), eps=1e-6), constant(0.01), 32),
        case("amsgrad", {"amsgrad": True}, "Adam(amsgrad=True)",
             lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True), constant(0.01), 33),
        case("l2", {"weight_decay": 0.05}, "Adam(weight_decay=0.05)",
             lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.05), constant(0.01), 34),
        case("adamw", {"weight_decay": 0.05, "decoupled_weight_decay": True},
             "AdamW(weight_decay=0.05)",
             lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.05), changing(0.01), 35),
        case("adamw_amsgrad", {"weight_decay": 0.01, "decoupled_weight_decay": True, "amsgrad": True},
             "AdamW(weight_decay=0.01, amsgrad=True)",
             lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.01, amsgrad=True),
             constant(0.01), 36),
    ]


def adadelta_cases():
    O = torch.optim.Adadelta
    return [
        case("defaults", {}, "Adadelta(lr=1.0)", lambda p: O(p, lr=1.0), constant(1.0), 41),
        case("rho_eps", {"rho": 0.95, "epsilon": 1e-4}, "Adadelta(lr=1.0, rho=0.95, eps=1e-4)",
             lambda p: O(p, lr=1.0, rho=0.95, eps=1e-4), constant(1.0), 42),
        case("weight_decay", {"epsilon": 1e-3, "weight_decay": 0.1},
             "Adadelta(lr=2.0, eps=1e-3, weight_decay=0.1)",
             lambda p: O(p, lr=2.0, eps=1e-3, weight_decay=0.1), changing(2.0), 43),
    ]


def main():
    torch.set_default_dtype(torch.float64)
    OUT.mkdir(parents=True, exist_ok=True)
    suites = {
        "momentum": sgd_cases(),
        "rmsprop": rmsprop_cases(),
        "adagrad": adagrad_cases(),
        "adam": adam_cases(),
        "adadelta": adadelta_cases(),
    }
    for name, cases in suites.items():
        for c in cases:
            for step in c["params"]:
                assert all(math.isfinite(x) for v in step.values() for x in v), (name, c["name"])
        doc = {"optimizer": name, "torch_version": torch.__version__, "steps": STEPS, "cases": cases}
        path = OUT / f"{name}.json"
        path.write_text(json.dumps(doc, indent=None, separators=(",", ":")) + "\n")
        print(f"{path.relative_to(ROOT)}: {len(cases)} cases")


if __name__ == "__main__":
    main()
