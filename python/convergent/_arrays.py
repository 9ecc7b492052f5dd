"""Activations as the accumulator reads them: each net's rows (N*H*W, S) float32, C order,
handed to the C library as they are when they already have that form (no copy), else made with
one copy (transposing NCHW, converting the dtype, moving off a GPU: all in that copy)."""
import numpy as np

from ._lib import fail

LAYOUTS = ("nchw", "nhwc")
# What a sample of a convolutional layer is: every (image, position), the paper's (default);
# the image with each channel averaged over positions; the image with the C*H*W values as units.
CONV_SAMPLES = ("positions", "mean", "flatten")


def conv_samples_view(x, mode, layout):
    """A 4-D activation x as the samples `mode` makes of it: itself ("positions"), (N, C) spatial
    means ("mean"; computed in x's float type) or (N, C*H*W) in x's axis order ("flatten")."""
    if mode == "positions" or len(x.shape) != 4:
        return x
    if mode == "flatten":
        return x.reshape(x.shape[0], -1)
    axes = (2, 3) if layout == "nchw" else (1, 2)
    if is_tensor(x):
        t = x.detach()
        return (t if t.dtype.is_floating_point else t.float()).mean(dim=axes)
    return x.mean(axis=axes, dtype=np.float64 if x.dtype == np.float64 else np.float32)


def is_tensor(x):
    """A torch.Tensor, recognized without importing torch (an optional dependency)."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def checked(x, what):
    """x itself if it is a torch tensor or a numpy array of a real dtype, else its numpy form;
    ValueError naming `what` for anything that is not real numbers."""
    if is_tensor(x):
        if x.dtype.is_complex:
            raise fail("%s: dtype %s is not a real number type" % (what, x.dtype))
        return x
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise fail("%s: dtype %s is not a real number type (expected float32 or another "
                   "float, integer or bool dtype)" % (what, a.dtype))
    return a


class Geometry:
    """The shape of one layer: S units per net and, for conv layers, H x W positions."""

    def __init__(self, shape, layout, what):
        if len(shape) == 2:
            self.units, self.height, self.width = shape[1], 0, 0
        elif len(shape) == 4:
            n, a, b, c = shape
            self.units, self.height, self.width = (a, b, c) if layout == "nchw" else (c, a, b)
        else:
            raise fail("%s: shape %s has %d dimensions; expected (N, S) for a fully connected "
                       "layer or (N, C, H, W) (layout %s) for a convolutional one"
                       % (what, tuple(shape), len(shape), layout))
        if self.units < 1:
            raise fail("%s: shape %s has no units" % (what, tuple(shape)))
        self.ndim = len(shape)

    @property
    def positions(self):
        return self.height * self.width if self.height else 1

    def describe(self):
        if self.height:
            return "%d channels x %d x %d positions" % (self.units, self.height, self.width)
        return "%d units" % self.units

    def same(self, other):
        return (self.ndim, self.units, self.height, self.width) == \
               (other.ndim, other.units, other.height, other.width)


def net_rows(x, geometry, layout, copy=False, out=None):
    """One net's activations x (checked) as (N*H*W, S) float32 C-contiguous rows: rows are
    (image, y, x) in C order, as the CLI reads files. At most one copy: a tensor is copied in
    torch (parallel; from any device), an array in numpy. copy: never share x's memory (a
    forward hook's output may be changed in place by the next module, e.g. ReLU(inplace)).
    out: a float32 numpy buffer of x's size to copy into (reused between batches: a fresh
    buffer of tens of MB costs page faults on every batch)."""
    transpose = geometry.height and layout == "nchw"
    if is_tensor(x):
        import torch  # already loaded: x is a tensor
        t = x.detach()
        if transpose:
            t = t.permute(0, 2, 3, 1)
        if copy or t.dtype != torch.float32 or not t.is_contiguous() or t.device.type != "cpu":
            dst = torch.from_numpy(out).view(t.shape) if out is not None and out.size == t.numel() \
                else torch.empty(t.shape, dtype=torch.float32)
            t = dst.copy_(t)
        a = t.numpy()
    else:
        a = x.transpose(0, 2, 3, 1) if transpose else x
        a = np.array(a, dtype=np.float32, order="C", copy=True) if copy else \
            np.ascontiguousarray(a, dtype=np.float32)
    return a.reshape(-1, geometry.units)


def c_array(ptr, count, dtype):
    """A copy of count values at a C pointer the library owns, as a numpy array of dtype."""
    return np.ctypeslib.as_array(ptr, shape=(count,)).astype(dtype, copy=True) if count else \
        np.zeros(0, dtype)
