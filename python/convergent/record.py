"""convergent.record: PyTorch forward hooks that run K models on the same batches and stream
the outputs of named modules into the C accumulator, one copy per layer per batch."""
import numpy as np

from ._arrays import checked, conv_samples_view, net_rows
from ._lib import fail
from .stats import Stats


def is_tensor_like(x):
    return hasattr(x, "detach") and hasattr(x, "shape")


class Recorder:
    """Made by convergent.record(models, layers, **stats_options). Calling it with a batch runs
    every model on it (under torch.no_grad(); the models' train/eval mode is left as it is)
    and returns the models' outputs; the hooked modules' outputs go into `stats` (a
    convergent.Stats with one layer per name). A hook copies its module's output once (as
    float32 rows; an NCHW output transposed in that copy: the next module may change the output
    in place, as ReLU(inplace=True) does) and keeps it until every model has run; then the
    batch goes to the C accumulator net by net, without concatenating."""

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
        self._batch = {}  # layer -> [_Layer, shape, [rows of each model so far]] of this batch
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
            for name in self.layers:
                entry = self._batch.get(name)
                if entry is None:
                    raise fail("record: module '%s' did not run in the forward pass" % name)
                state, shape, rows = entry
                if len(rows) != len(self.models):
                    raise fail("record: module '%s' ran in %d of %d models"
                               % (name, len(rows), len(self.models)))
                self.stats._add(state, rows, shape[0])
        finally:
            self._batch.clear()
        return outputs

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
