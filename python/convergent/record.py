"""convergent.record: PyTorch forward hooks that run K models on the same batches and stream
the outputs of named modules into the C accumulator, one copy per layer per batch."""
from ._arrays import as_numpy, scatter
from ._lib import fail
from .stats import Stats


class Recorder:
    """Made by convergent.record(models, layers, **stats_options). Calling it with a batch runs
    every model on it (under torch.no_grad(); the models' train/eval mode is left as it is)
    and returns the models' outputs; the hooked modules' outputs go into `stats` (a
    convergent.Stats with one layer per name)."""

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
        self._batch = {}  # layer -> (_Layer, row buffer, inputs) of the batch in flight
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
            if not hasattr(output, "detach"):
                raise fail("record: module '%s' returned %s, not a tensor"
                           % (name, type(output).__name__))
            a = as_numpy(output, "layer '%s', net %d" % (name, k + 1))
            if k == 0:
                shapes = [a.shape] * K
                state = self.stats._prepare(name, shapes)
                g = state.geometry
                buf = state.rows(a.shape[0] * g.positions, K * g.units)
                self._batch[name] = [state, buf, a.shape[0], a.shape, 1]
            else:
                entry = self._batch.get(name)
                if entry is None or entry[4] != k:
                    raise fail("record: layer '%s' of model %d ran out of turn (each model must "
                               "run once per batch, in order)" % (name, k + 1))
                if a.shape != entry[3]:
                    raise fail("layer '%s': net %d's activations have shape %s, but net 1's %s "
                               "(the same inputs, the same layer shape for every net)"
                               % (name, k + 1, tuple(a.shape), tuple(entry[3])))
                entry[4] += 1
            state, buf, n = self._batch[name][:3]
            scatter(buf, k, K, state.geometry, self.stats.layout, a)

        return hook

    def __call__(self, x):
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
                if entry[4] != len(self.models):
                    raise fail("record: module '%s' ran in %d of %d models" % (name, entry[4], len(self.models)))
                state, buf, n = entry[:3]
                self.stats._add(state, buf, n)
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
