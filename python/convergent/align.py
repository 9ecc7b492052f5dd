"""Weight alignment of PyTorch models by the matchings (beyond the paper): permute a model's
units so that it computes the same function with its units in another network's order, and
measure the loss along the straight line between two models' weights before and after
(the "barrier" of Entezari et al. and git re-basin).

    m = convergent.match(stats.result("features.0"), 0, 1)   # net 1's units -> net 2's
    b_aligned = convergent.align(model_b, {"features.0": m.match, "classifier.1": m2.match})
    before = convergent.interpolation_barrier(model_a, model_b, loader)
    after = convergent.interpolation_barrier(model_a, b_aligned, loader)

A permutation p of a layer puts model_b's unit p[u] at place u: with p = match(...).match
(unit u of net a is matched to unit p[u] of net b), the aligned model's unit u is the one that
the matching pairs with model_a's unit u. The rows of the layer's weight and its bias are
permuted; so are the channels of everything its output passes through on its way to the next
layer with weights (BatchNorm's affine parameters and running statistics; ReLU, pooling,
dropout, flatten need nothing), and that layer's input columns (for a Linear after a flatten,
the groups of H*W columns of each channel). Found by tracing the model (torch.fx); an operation
on the way whose channel behaviour is not known (LocalResponseNorm mixes neighbouring channels,
so no permutation keeps the function; additions of skip connections tie two layers' orders) is
an error naming it, never a silently different function."""
import copy

import numpy as np

from ._lib import fail

# Modules and functions through which channel c of the input is channel c of the output.
_ELEMENTWISE_MODULES = ("ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Dropout",
                        "Dropout2d", "Identity", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
                        "AdaptiveMaxPool2d")
_BATCHNORM = ("BatchNorm1d", "BatchNorm2d")
_WEIGHTED = ("Conv2d", "Linear")


def _torch():
    try:
        import torch
        import torch.fx  # noqa: F401
    except ImportError as e:  # pragma: no cover - torch is optional
        raise ImportError("convergent.align needs PyTorch (python3-torch)") from e
    return torch


def _function_name(target):
    return getattr(target, "__name__", str(target))


def _is_flatten(node, modules):
    if node.op == "call_module":
        return type(modules[node.target]).__name__ == "Flatten"
    if node.op == "call_function":
        return _function_name(node.target) == "flatten"
    if node.op == "call_method":
        return node.target in ("flatten", "view", "reshape")
    return False


def _is_elementwise(node, modules):
    if node.op == "call_module":
        return type(modules[node.target]).__name__ in _ELEMENTWISE_MODULES
    if node.op == "call_function":
        return _function_name(node.target) in ("relu", "dropout", "max_pool2d", "avg_pool2d",
                                               "adaptive_avg_pool2d", "leaky_relu", "gelu")
    if node.op == "call_method":
        return node.target in ("relu", "contiguous")
    return False


def _consumers(graph_module, name):
    """The modules the output of module `name` reaches before the next weights: [(kind,
    module name)] with kind "batchnorm" or "input" (the next Conv2d/Linear), and whether a
    flatten was on the way. Raises for anything else on the way."""
    modules = dict(graph_module.named_modules())
    start = [n for n in graph_module.graph.nodes if n.op == "call_module" and n.target == name]
    if len(start) != 1:
        raise fail("align: module %r is %s in the traced model" %
                   (name, "not called" if not start else "called %d times" % len(start)))
    found, flattened = [], False
    frontier = list(start[0].users)
    while frontier:
        node = frontier.pop()
        if node.op == "output":
            raise fail("align: the output of %r reaches the model's output: the last layer's "
                       "units cannot be permuted (its order is the model's output)" % name)
        if node.op == "call_module" and type(modules[node.target]).__name__ in _WEIGHTED:
            found.append(("input", node.target))
            continue
        if node.op == "call_module" and type(modules[node.target]).__name__ in _BATCHNORM:
            found.append(("batchnorm", node.target))
        elif _is_flatten(node, modules):
            flattened = True
        elif not _is_elementwise(node, modules):
            what = (type(modules[node.target]).__name__ if node.op == "call_module"
                    else _function_name(node.target))
            raise fail("align: the output of %r goes through %s (%s), whose channels are not "
                       "known to follow a permutation; align stops rather than change the "
                       "function" % (name, node.name, what))
        frontier.extend(node.users)
    if not [f for f in found if f[0] == "input"]:
        raise fail("align: no layer with weights follows %r" % name)
    return found, flattened


def align(model, perms, inplace=False):
    """A copy of `model` (or the model itself with inplace=True) with the units of each
    module in `perms` ({module name: permutation}, as given by match(...).match) reordered so
    that unit u is the old unit perms[name][u]; the model computes the same function."""
    torch = _torch()
    out = model if inplace else copy.deepcopy(model)
    traced = torch.fx.symbolic_trace(out)
    modules = dict(out.named_modules())
    plan = []
    for name, perm in perms.items():
        if name not in modules or type(modules[name]).__name__ not in _WEIGHTED:
            raise fail("align: %r is not a Conv2d or Linear module of the model" % name)
        p = np.asarray(perm)
        width = modules[name].weight.shape[0]
        if p.ndim != 1 or p.shape[0] != width or not np.array_equal(np.sort(p), np.arange(width)):
            raise fail("align: the permutation of %r is not a permutation of its %d units "
                       "(got shape %s)" % (name, width, p.shape))
        plan.append((name, torch.as_tensor(p, dtype=torch.long), *_consumers(traced, name)))
    with torch.no_grad():
        for name, p, found, flattened in plan:
            layer = modules[name]
            layer.weight.copy_(layer.weight[p])
            if layer.bias is not None:
                layer.bias.copy_(layer.bias[p])
            for kind, target in found:
                m = modules[target]
                if kind == "batchnorm":
                    for t in (m.weight, m.bias, m.running_mean, m.running_var):
                        if t is not None:
                            t.copy_(t[p])
                    continue
                w = m.weight
                if type(m).__name__ == "Linear" and flattened:
                    per = w.shape[1] // len(p)
                    if per * len(p) != w.shape[1]:
                        raise fail("align: %r takes %d inputs, not a multiple of %r's %d channels"
                                   % (target, w.shape[1], name, len(p)))
                    w.copy_(w.view(w.shape[0], len(p), per)[:, p, :].reshape(w.shape))
                else:
                    w.copy_(w[:, p])
    return out


def interpolation_barrier(model_a, model_b, loader, steps=11, loss_fn=None, device="cpu"):
    """Loss and accuracy along theta(t) = (1 - t) theta_a + t theta_b, t = 0 .. 1 in `steps`
    points, over every batch of `loader` ((inputs, labels) pairs), with model_a's architecture
    (every floating parameter and buffer interpolated, BatchNorm's running statistics too).
    Returns a dict: t, loss, accuracy (arrays), and barrier = the largest loss(t) - ((1 - t)
    loss(0) + t loss(1)), accuracy_barrier likewise for the accuracy's drop."""
    torch = _torch()
    loss_fn = loss_fn or torch.nn.functional.cross_entropy
    sa, sb = model_a.state_dict(), model_b.state_dict()
    if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
        raise fail("interpolation_barrier: the two models do not have the same parameters")
    probe = copy.deepcopy(model_a).to(device).eval()
    ts = np.linspace(0.0, 1.0, steps)
    losses, accs = [], []
    with torch.no_grad():
        for t in ts:
            probe.load_state_dict({k: (1 - t) * sa[k] + t * sb[k] if sa[k].is_floating_point() else sa[k]
                                   for k in sa})
            total, correct, count = 0.0, 0, 0
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                logits = probe(x)
                total += float(loss_fn(logits, y, reduction="sum"))
                correct += int((logits.argmax(1) == y).sum())
                count += len(y)
            losses.append(total / count)
            accs.append(correct / count)
    losses, accs = np.array(losses), np.array(accs)
    line = (1 - ts) * losses[0] + ts * losses[-1]
    acc_line = (1 - ts) * accs[0] + ts * accs[-1]
    return {"t": ts, "loss": losses, "accuracy": accs, "barrier": float(np.max(losses - line)),
            "accuracy_barrier": float(np.max(acc_line - accs))}
