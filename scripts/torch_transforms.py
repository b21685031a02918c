"""Records reference values for stoke's gradient transforms from PyTorch (run by hand).

    pip install torch numpy
    python scripts/torch_transforms.py > crates/stoke-optim/tests/fixtures/transforms.json

For each case: three parameters (a matrix, a vector, and a vector whose gradient is all zero),
their gradients, `torch.nn.utils.clip_grad_norm_(params, max_norm)`'s returned total norm and
the clipped gradients, and the parameters after one SGD and one Adam step on the clipped
gradients. Everything runs in float32, as stoke does. Then `AveragedModel` with
`get_ema_multi_avg_fn(decay)` over six SGD-with-momentum steps, for a decay whose lerp weight
is below 0.5 (0.9) and one above (0.3): PyTorch evaluates lerp differently in the two cases.
"""

import json

import torch

torch.manual_seed(7)


def case(max_norm, scale):
    shapes = [(3, 4), (5,), (2,)]
    params = [torch.randn(s) for s in shapes]
    grads = [torch.randn(s) * scale for s in shapes[:2]] + [torch.zeros(shapes[2])]
    out = {"max_norm": max_norm, "params": [p.flatten().tolist() for p in params],
           "shapes": [list(s) for s in shapes], "grads": [g.flatten().tolist() for g in grads]}
    results = {}
    for name, make in [("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1)),
                       ("adam", lambda ps: torch.optim.Adam(ps, lr=0.01))]:
        ps = [p.clone().requires_grad_(True) for p in params]
        for p, g in zip(ps, grads):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        clipped = [p.grad.flatten().tolist() for p in ps]
        opt = make(ps)
        opt.step()
        results[name] = [p.detach().flatten().tolist() for p in ps]
        out["total_norm"] = float(total)
        out["clipped"] = clipped
    out["after"] = results
    return out


def ema_case(decay, steps=6):
    """SGD (lr 0.1, momentum 0.9) on a 3x4 and a 4 parameter; AveragedModel with
    get_ema_multi_avg_fn(decay) updated after every step."""
    w = torch.randn(3, 4)
    b = torch.randn(4)
    ps = [w.clone().requires_grad_(True), b.clone().requires_grad_(True)]
    model = torch.nn.ParameterList([torch.nn.Parameter(p.detach().clone()) for p in ps])
    avg = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    grads, emas = [], []
    for _ in range(steps):
        g = [torch.randn(3, 4), torch.randn(4)]
        for p, gi in zip(model.parameters(), g):
            p.grad = gi.clone()
        opt.step()
        avg.update_parameters(model)
        grads.append([x.flatten().tolist() for x in g])
        emas.append([p.detach().flatten().tolist() for p in avg.module.parameters()])
    return {"decay": decay, "init": [w.flatten().tolist(), b.flatten().tolist()],
            "grads": grads, "ema": emas}


cases = [case(1.0, 1.0), case(100.0, 1.0), case(1e-3, 1e-3)]
print(json.dumps({"source": "torch " + torch.__version__ + ", clip_grad_norm_ (foreach default)",
                  "cases": cases, "ema": [ema_case(0.9), ema_case(0.3)]}, indent=1))
