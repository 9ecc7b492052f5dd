"""Activations as numpy: torch tensors viewed without a copy, shapes and dtypes checked, and
the one copy per batch into the accumulator's row buffer [net1 units | net2 units | ...]."""
import numpy as np

from ._lib import fail

LAYOUTS = ("nchw", "nhwc")


def as_numpy(x, what):
    """A numpy view of a numpy array or a torch tensor (CPU: no copy; other devices: copied to
    the CPU; bfloat16 widened to float32, which numpy lacks)."""
    if isinstance(x, np.ndarray):
        a = x
    elif hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor, without importing torch
        t = x.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        a = t.numpy()
    else:
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


def scatter(buf, k, nets, geometry, layout, a):
    """Copy net k's activations a (N, S) or (N, C, H, W) into columns [k*S, (k+1)*S) of the row
    buffer buf (N*H*W, nets*S) float32: rows are (image, y, x) in C order, as the CLI reads
    files. The only copy of the batch; conversion to float32 happens in it."""
    S = geometry.units
    n = a.shape[0]
    if geometry.height:
        dst = buf.reshape(n, geometry.height, geometry.width, nets * S)[..., k * S:(k + 1) * S]
        src = a.transpose(0, 2, 3, 1) if layout == "nchw" else a
    else:
        dst, src = buf[:, k * S:(k + 1) * S], a
    np.copyto(dst, src, casting="unsafe")
