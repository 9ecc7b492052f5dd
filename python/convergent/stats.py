"""Streaming statistics of layers: convergent.Stats (the accumulator), LayerStats (what a
layer's statistics are, as numpy) and convergent.load (a stats directory of the CLI)."""
import ctypes as C
import os
import re

import numpy as np

from . import _structs as T
from ._arrays import CONV_SAMPLES, LAYOUTS, Geometry, c_array, checked, conv_samples_view, net_rows
from ._lib import ERR_EMPTY, ERR_FORMAT, check, encode, fail, lib

KERNELS = ("auto", "ssyrk", "sgemm", "dsyrk", "fused")  # the order of cvg_kernel


def natural_key(name):
    """The order of cvg_stats_list_layers: runs of digits compare as numbers (conv2 < conv10)."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name) if p]




def _describe(geometries):
    """'4 units' when every net has the same shape, else 'net 1: 4 units, net 2: 7 units'."""
    texts = [g.describe() for g in geometries]
    if len(set(texts)) == 1:
        return texts[0]
    return ", ".join("net %d: %s" % (k + 1, t) for k, t in enumerate(texts))


class _Layer:
    """One layer's C accumulator (cvg_stats *) and its geometry (None until the first batch of
    a loaded layer)."""

    def __init__(self, handle, geometry=None, geometries=None):
        self.handle = handle
        self.geometry = geometry  # net 1's
        self.geometries = geometries  # one per net (their units may differ), or None

    def __del__(self):
        if self.handle:
            lib.cvg_stats_free(self.handle)
            self.handle = C.c_void_p()


class Stats:
    """One streaming pass over the activations of K networks, layer by layer.

    Options are the CLI's `convergent stats` options with the same defaults:
      reservoir=60000  sample rows kept for mutual information and plots (0: none)
      seed=1           reservoir seed
      row_offset=0     global index of this shard's first row (for merging shards)
      kernel="auto"    chunk co-moment kernel: auto, ssyrk, sgemm, dsyrk, fused
      layout="nchw"    axis order of 4-D activations: nchw (PyTorch) or nhwc
      conv_samples="positions"  what a sample of a 4-D (convolutional) activation is: every
                       image and position, channels as units (the paper's); "mean": each image,
                       channels averaged over positions (global average pooling, what CKA
                       users often report); "flatten": each image, its C*H*W values as units
    Values are accumulated as float32 rows, means and co-moments in double (as the CLI does
    for float32 files)."""

    def __init__(self, reservoir=60000, seed=1, row_offset=0, kernel="auto", layout="nchw",
                 conv_samples="positions"):
        opt = T.StatsOptions()
        lib.cvg_stats_options_init(C.byref(opt))
        if layout not in LAYOUTS:
            raise fail("Stats: layout must be one of %s, got %r" % (", ".join(LAYOUTS), layout))
        if conv_samples not in CONV_SAMPLES:
            raise fail("Stats: conv_samples must be one of %s, got %r"
                       % (", ".join(CONV_SAMPLES), conv_samples))
        if kernel not in KERNELS:
            raise fail("Stats: kernel must be one of %s, got %r" % (", ".join(KERNELS), kernel))
        for name, value in (("reservoir", reservoir), ("seed", seed), ("row_offset", row_offset)):
            if int(value) != value or value < 0:
                raise fail("Stats: %s must be an integer >= 0, got %r" % (name, value))
        opt.reservoir, opt.seed, opt.row_offset = int(reservoir), int(seed), int(row_offset)
        opt.kernel, opt.layout = KERNELS.index(kernel), LAYOUTS.index(layout)
        self._options = opt
        self.layout = layout
        self.conv_samples = conv_samples
        self._layers = {}

    # ---------------------------------------------------------------- feeding

    @property
    def layers(self):
        """Layer names in natural order (the order of the CLI's stats directories)."""
        return sorted(self._layers, key=natural_key)

    def __contains__(self, layer):
        return layer in self._layers

    def _prepare(self, layer, shapes, from_conv=False):
        """Check a batch's shapes (one per net) against each other and the layer; create the
        layer's accumulator on its first batch. Returns the _Layer. from_conv: the shapes are
        of 4-D activations made into samples by conv_samples_view (recorded in meta.json)."""
        if not isinstance(layer, str) or not layer or "/" in layer or layer in (".", ".."):
            raise fail("invalid layer name %r (it names a directory: no '/')" % (layer,))
        if len(shapes) < 1:
            raise fail("layer '%s': no activations given (one array per network)" % layer)
        geos = [Geometry(s, self.layout, "layer '%s', net %d" % (layer, k + 1))
                for k, s in enumerate(shapes)]
        for k, (s, gk) in enumerate(zip(shapes[1:], geos[1:]), 1):
            # the same inputs and positions; the number of units (channels) may differ
            if (len(s), s[0], gk.height, gk.width) != \
                    (len(shapes[0]), shapes[0][0], geos[0].height, geos[0].width):
                raise fail("layer '%s': net %d's activations have shape %s, but net 1's %s "
                           "(the same inputs and positions for every net; only the number of "
                           "units may differ)" % (layer, k + 1, tuple(s), tuple(shapes[0])))
        g = geos[0]
        widths = [gk.units for gk in geos]
        state = self._layers.get(layer)
        mode = CONV_SAMPLES.index(self.conv_samples) if from_conv or g.height else 0
        if state is None:
            handle = C.c_void_p()
            opt = T.StatsOptions.from_buffer_copy(self._options)
            opt.conv_samples = mode  # the library records it; the rows are converted here
            units = (C.c_int64 * len(widths))(*widths)
            check(lib.cvg_stats_create_widths(encode(layer), len(shapes), units, g.height, g.width,
                                              C.byref(opt), C.byref(handle)))
            state = self._layers[layer] = _Layer(handle, g, geos)
        nets = lib.cvg_stats_nets(state.handle)
        if len(shapes) != nets:
            raise fail("layer '%s': %d networks given, but the layer has %d"
                       % (layer, len(shapes), nets))
        if (from_conv or g.height) and lib.cvg_stats_conv_samples(state.handle) != mode:
            raise fail("layer '%s': conv_samples %r, but the layer's samples were made with %r"
                       % (layer, CONV_SAMPLES[mode],
                          CONV_SAMPLES[lib.cvg_stats_conv_samples(state.handle)]))
        have = [lib.cvg_stats_net_units(state.handle, k) for k in range(nets)]
        if state.geometry is None:  # loaded from a directory: units known, spatial size not
            if widths != have:
                raise fail("layer '%s': %s units per net, but the loaded layer has %s"
                           % (layer, widths, have))
            state.geometry, state.geometries = g, geos
        elif not all(gk.same(ok) for gk, ok in zip(geos, state.geometries or [state.geometry] * nets)):
            raise fail("layer '%s': activations of %s, but earlier batches had %s"
                       % (layer, _describe(geos), _describe(state.geometries or [state.geometry])))
        return state

    def update(self, layer, arrays):
        """Add one batch of the same N inputs for every network: arrays[k] is net k's
        activations, numpy or a torch tensor, (N, S) or (N, C, H, W) (every image and position
        is a sample, channels are units). Float32 (N, S) arrays are read where they are; other
        shapes and dtypes are copied once (as float32 rows)."""
        arrays = [checked(a, "layer '%s', net %d" % (layer, k + 1)) for k, a in enumerate(arrays)]
        from_conv = any(len(a.shape) == 4 for a in arrays)
        arrays = [conv_samples_view(a, self.conv_samples, self.layout) for a in arrays]
        state = self._prepare(layer, [tuple(a.shape) for a in arrays], from_conv)
        rows = [net_rows(a, state.geometries[k], self.layout) for k, a in enumerate(arrays)]
        self._add(state, rows, arrays[0].shape[0])

    def _add(self, state, rows, inputs):
        """rows: one (n, S) float32 C-contiguous array per net, kept alive by the caller."""
        ptrs = (C.POINTER(C.c_float) * len(rows))(*[r.ctypes.data_as(C.POINTER(C.c_float)) for r in rows])
        check(lib.cvg_stats_add_nets(state.handle, ptrs, rows[0].shape[0], inputs))

    # ---------------------------------------------------------------- results

    def result(self, layer):
        """The statistics of a layer so far, as a LayerStats of numpy arrays."""
        if layer not in self._layers:
            raise fail("no layer '%s' (layers: %s)" % (layer, ", ".join(self.layers) or "none"))
        return LayerStats(self._layers[layer].handle, self.layers.index(layer))

    def __getitem__(self, layer):
        return self.result(layer)

    def merge(self, other):
        """Add the statistics of another Stats over other inputs (shards): equals one pass."""
        for layer in other.layers:
            if layer not in self._layers:
                raise fail("merge: layer '%s' is not in both" % layer)
        for layer in other.layers:
            check(lib.cvg_stats_merge(self._layers[layer].handle, other._layers[layer].handle))

    def add_source(self, layer, source):
        """List a source of a layer's statistics (a file, a checkpoint) in meta.json's "sources",
        as the CLI lists its input files."""
        if layer not in self._layers:
            raise fail("no layer '%s' (layers: %s)" % (layer, ", ".join(self.layers) or "none"))
        check(lib.cvg_stats_add_source(self._layers[layer].handle, encode(os.fspath(source))))

    def save(self, out_dir):
        """Write out_dir/<layer>/ for every layer: the files of `convergent stats`."""
        if not self._layers:
            raise fail("save(%s): no layer has any data yet" % out_dir)
        for layer in self.layers:
            if lib.cvg_stats_count(self._layers[layer].handle) == 0:
                raise fail("save(%s): layer '%s' has no samples (only empty batches)"
                           % (os.fspath(out_dir), layer), status=ERR_EMPTY)
        for layer in self.layers:
            check(lib.cvg_stats_save(self._layers[layer].handle, encode(os.fspath(out_dir))))

    def __repr__(self):
        return "convergent.Stats(%s)" % ", ".join(
            "%s: %d nets x %s units, %d samples" % (l, lib.cvg_stats_nets(s.handle),
                                                    lib.cvg_stats_units(s.handle) or "/".join(
                                                        str(lib.cvg_stats_net_units(s.handle, k))
                                                        for k in range(lib.cvg_stats_nets(s.handle))),
                                                    lib.cvg_stats_count(s.handle))
            for l, s in sorted(self._layers.items(), key=lambda kv: natural_key(kv[0])))


def load(stats_dir):
    """Read a stats directory written by `convergent stats` or Stats.save (every layer
    directory holding a meta.json). The result can be updated further and merged."""
    stats_dir = os.fspath(stats_dir)
    names, count = C.POINTER(C.c_char_p)(), C.c_int()
    check(lib.cvg_stats_list_layers(encode(stats_dir), C.byref(names), C.byref(count)))
    layers = [names[i].decode() for i in range(count.value)]
    lib.cvg_free(names)  # one allocation: the pointers and the strings
    if not layers:
        raise fail("%s: no layer directory (a subdirectory holding meta.json)" % stats_dir,
                   status=ERR_FORMAT)
    st = Stats()
    for layer in layers:
        handle = C.c_void_p()
        check(lib.cvg_stats_load(encode(os.path.join(stats_dir, layer)), C.byref(handle)))
        st._layers[layer] = _Layer(handle)
    return st


class LayerStats:
    """One layer's statistics as numpy, computed when asked for.

    nets (K), units (S), n (samples), layer, index (position among the layers, natural order);
    mean (K, S), std (K, S), corr (K*S, K*S) net-major, dead (K, S) bool, comoment (K*S, K*S),
    samples (R, K*S) float32 reservoir rows and sample_rows (R,) their global row indices.
    block(a, b): the between-net (a, b) correlation block (S, S).
    widths: the K units per net; offsets: K + 1, net k's units are [offsets[k], offsets[k+1]).
    Networks of different widths (docs/python.md): units is None, mean, std and dead are lists
    of K 1-D arrays (net k's of length widths[k]), corr, comoment and samples have D = sum of
    the widths columns, and block(a, b) is (widths[a], widths[b])."""

    def __init__(self, handle, index):
        self.layer = lib.cvg_stats_layer(handle).decode()
        self.index = index
        self.nets = lib.cvg_stats_nets(handle)
        self.widths = tuple(lib.cvg_stats_net_units(handle, k) for k in range(self.nets))
        self.offsets = tuple(int(v) for v in np.concatenate([[0], np.cumsum(self.widths)]))
        self.units = lib.cvg_stats_units(handle) or None  # None: the widths differ
        self.n = lib.cvg_stats_count(handle)
        self.skipped = lib.cvg_stats_skipped(handle)
        K, S = self.nets, self.units
        D = self.offsets[-1]
        per_net = (lambda v: v.reshape(K, S)) if S else \
            (lambda v: [v[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])])
        self.mean = per_net(c_array(lib.cvg_stats_mean(handle), D, np.float64))
        std = np.empty(D)
        corr = np.empty((D, D))
        dead = np.empty(D, np.uint8)
        check(lib.cvg_stats_correlation(handle, std.ctypes.data_as(C.POINTER(C.c_double)),
                                        corr.ctypes.data_as(C.POINTER(C.c_double)),
                                        dead.ctypes.data_as(C.POINTER(C.c_uint8))))
        self.std, self.corr, self.dead = per_net(std), corr, per_net(dead.astype(bool))
        rows = C.c_int64()
        ptr = lib.cvg_stats_samples(handle, C.byref(rows))
        R = rows.value
        self.samples = (np.ctypeslib.as_array(ptr, shape=(R, D)).copy() if R
                        else np.zeros((0, D), np.float32))
        self.sample_rows = (np.ctypeslib.as_array(lib.cvg_stats_sample_rows(handle), shape=(R,)).copy()
                            if R else np.zeros(0, np.int64))
        self._blocks = T.Blocks()  # the co-moments in C, for similarity and lasso
        check(lib.cvg_stats_blocks(handle, C.byref(self._blocks)))
        self._mi = None

    @property
    def comoment(self):
        """(K*S, K*S) sum of centred outer products (a copy: a (K*S)^2 matrix is made only when
        asked for)."""
        D = self.offsets[-1]
        return np.ctypeslib.as_array(self._blocks.comoment, shape=(D, D)).copy()

    def __del__(self):
        if getattr(self, "_blocks", None) is not None:
            lib.cvg_blocks_free(C.byref(self._blocks))
            self._blocks = None

    def block(self, a, b, matrix=None):
        """The (S, S) block of nets (a, b) (0-based) of corr, or of another (K*S)^2 matrix."""
        m = self.corr if matrix is None else matrix
        o = self.offsets
        for net in (a, b):
            if not 0 <= net < self.nets:
                raise fail("layer '%s': net %r out of range (0..%d)" % (self.layer, net, self.nets - 1))
        return m[o[a]:o[a + 1], o[b]:o[b + 1]]

    def __repr__(self):
        return "<convergent.LayerStats %s: %d nets x %s units, %d samples, %d dead>" % (
            self.layer, self.nets, self.units or "/".join(map(str, self.widths)), self.n,
            int(sum(d.sum() for d in self.dead)))
