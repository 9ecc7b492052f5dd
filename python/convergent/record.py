"""convergent.record: PyTorch forward hooks that run K models on the same batches and stream
the outputs of named modules into the C accumulator: float32 CPU outputs as torch holds them
(no copy; NCHW read by the C library), anything else with one copy per layer per batch."""
import ctypes as C

import numpy as np

from ._arrays import checked, conv_samples_view, is_tensor, net_rows
from ._lib import check, fail, lib
from .stats import Stats


def is_tensor_like(x):
    return hasattr(x, "detach") and hasattr(x, "shape")


class _Held:
    """A hooked output kept as it is until every model has run: a float32 CPU C-contiguous
    tensor, (N, S) or NCHW, with its in-place version counter when it was hooked (None: the
    tensor is a copy made in the hook, or has no counter, as inference-mode tensors)."""

    def __init__(self, tensor, copy):
        t = tensor.detach()  # shares the version counter
        self.version = None
        if not copy:
            try:
                self.version = t._version
            except (RuntimeError, AttributeError):  # inference tensors track no versions
                copy = True
        self.tensor = t.clone() if copy else t

    def changed(self):
        """Whether something wrote into the tensor in place after the hook (e.g. a later
        ReLU(inplace=True)): then what the hook saw is gone."""
        return self.version is not None and self.tensor._version != self.version


def held_directly(a, layout):
    """Whether the hook may hold a (the activation as the statistics count its samples) as it
    is: a float32 C-contiguous CPU tensor, (N, S) or (N, C, H, W) in NCHW layout."""
    import torch
    return (is_tensor(a) and a.dtype == torch.float32 and a.device.type == "cpu" and
            a.is_contiguous() and (a.dim() == 2 or (a.dim() == 4 and layout == "nchw")))


class Recorder:
    """Made by convergent.record(models, layers, **stats_options). Calling it with a batch runs
    every model on it (under torch.no_grad(); the models' train/eval mode is left as it is)
    and returns the models' outputs; the hooked modules' outputs go into `stats` (a
    convergent.Stats with one layer per name), layer by layer once every model has run.

    Float32 CPU outputs are not copied: the hook keeps the tensor, and once every model has
    run, torch's version counter shows whether a later module wrote into it in place; if one
    did, that output is copied in its hook from then on and the batch runs again (once; a
    change that bypasses the counter, such as writing through `.data`, is not seen). The C
    library reads NCHW outputs as they are (cvg_stats_add_nets_nchw). Other outputs (another
    dtype, a GPU, channels-last memory, layout="nhwc") are copied in the hook as float32 rows
    (an NCHW output transposed in that copy) and added net by net, without concatenating."""

    def __init__(self, models, layers, stats=None, **stats_options):
        try:
            import torch  # noqa: F401  (optional dependency, needed only here)
        except ImportError as e:  # pragma: no cover - depends on the machine
            raise ImportError("convergent.record needs PyTorch (Debian: python3-torch)") from e
        if isinstance(layers, str):
            layers = [layers]
        if not models:
            raise fail("record: no models given")
        if not layers:
            raise fail("record: no layer names given")
        self.models, self.layers = list(models), list(layers)
        if stats is not None and stats_options:
            raise fail("record: give stats= or statistics options, not both")
        self.stats = stats if stats is not None else Stats(**stats_options)
        self._handles = []
        self._buffers = {}  # (layer, model) -> float32 buffer the hook copies into, reused
        self._batch = {}  # layer -> [_Layer, shape, [_Held or rows of each model so far]]
        self._copy = set()  # (layer, model) whose output a later module changes in place
        for k, model in enumerate(self.models):
            for name in self.layers:
                try:
                    module = model.get_submodule(name)
                except AttributeError as e:
                    self.close()
                    raise fail("record: model %d has no module '%s' (%s)" % (k + 1, name, e)) from e
                self._handles.append(module.register_forward_hook(self._hook(k, name)))

    def _hook(self, k, name):
        K = len(self.models)

        def hook(module, inputs, output):
            if not is_tensor_like(output):
                raise fail("record: module '%s' returned %s, not a tensor"
                           % (name, type(output).__name__))
            a = conv_samples_view(checked(output, "layer '%s', net %d" % (name, k + 1)),
                                  self.stats.conv_samples, self.stats.layout)
            shape = tuple(a.shape)
            if k == 0:
                state = self.stats._prepare(name, [shape] * K, len(output.shape) == 4)
                self._batch[name] = [state, shape, []]
            else:
                entry = self._batch.get(name)
                if entry is None or len(entry[2]) != k:
                    raise fail("record: layer '%s' of model %d ran out of turn (each model must "
                               "run once per batch, in order)" % (name, k + 1))
                if shape != entry[1]:
                    raise fail("layer '%s': net %d's activations have shape %s, but net 1's %s "
                               "(the same inputs, the same layer shape for every net)"
                               % (name, k + 1, shape, entry[1]))
            state, _, rows = self._batch[name]
            if held_directly(a, self.stats.layout):
                rows.append(_Held(a, (name, k) in self._copy))
                return
            size = 1
            for d in shape:
                size *= d
            buf = self._buffers.get((name, k))
            if buf is None or buf.size != size:
                buf = self._buffers[(name, k)] = np.empty(size, np.float32)
            rows.append(net_rows(a, state.geometry, self.stats.layout, copy=True, out=buf))

        return hook

    def __call__(self, x):
        """Run every model on the batch x; returns their outputs, in order."""
        import torch
        self._batch.clear()
        outputs = []
        try:
            with torch.no_grad():
                for model in self.models:
                    outputs.append(model(x))
            changed = {(name, k) for name, (_, _, held) in self._batch.items()
                       for k, h in enumerate(held) if isinstance(h, _Held) and h.changed()}
            if changed:  # what those hooks saw is gone: copy them from now on, run again
                self._copy |= changed
                self._batch.clear()
                return self(x)
            for name in self.layers:
                entry = self._batch.get(name)
                if entry is None:
                    raise fail("record: module '%s' did not run in the forward pass" % name)
                state, shape, rows = entry
                if len(rows) != len(self.models):
                    raise fail("record: module '%s' ran in %d of %d models"
                               % (name, len(rows), len(self.models)))
                self._add(state, shape, rows)
        finally:
            self._batch.clear()
        return outputs

    def _add(self, state, shape, held):
        """One layer's batch into the C accumulator: tensors held as they are by
        cvg_stats_add_nets_nchw, else rows (held tensors made rows here) net by net."""
        if all(isinstance(h, _Held) for h in held):
            ptrs = (C.POINTER(C.c_float) * len(held))(
                *[C.cast(h.tensor.data_ptr(), C.POINTER(C.c_float)) for h in held])
            hw = shape[2:] if len(shape) == 4 else (0, 0)
            check(lib.cvg_stats_add_nets_nchw(state.handle, ptrs, shape[0], hw[0], hw[1]))
            return
        rows = [net_rows(h.tensor, state.geometry, self.stats.layout) if isinstance(h, _Held) else h
                for h in held]
        self.stats._add(state, rows, shape[0])

    def close(self):
        """Remove the hooks (the statistics stay in `stats`)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def record(models, layers, stats=None, **stats_options):
    """Hooks on the modules `layers` (names as in model.named_modules(), e.g. "features.0") of
    every model; use as a context manager:

        with convergent.record([model1, model2], ["features.0", "classifier.1"]) as rec:
            for x, _ in loader:
                rec(x)
        st = rec.stats
    """
    return Recorder(models, layers, stats=stats, **stats_options)
