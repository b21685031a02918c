"""Records reference values for stoke's gradient transforms from PyTorch (run by hand).

    pip install torch numpy
    python scripts/torch_transforms.py > crates/stoke-optim/tests/fixtures/transforms.json

For each case: three parameters (a matrix, a vector, and a vector whose gradient is all zero),
their gradients, `torch.nn.utils.clip_grad_norm_(params, max_norm)`'s returned total norm and
the clipped gradients, and the parameters after one SGD and one Adam step on the clipped
gradients. Everything runs in float32, as stoke does.
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


cases = [case(1.0, 1.0), case(100.0, 1.0), case(1e-3, 1e-3)]
print(json.dumps({"source": "torch " + torch.__version__ + ", clip_grad_norm_ (foreach default)",
                  "cases": cases}, indent=1))
