"""convergent: do different neural networks learn the same representations?

A thin numpy layer over libconvergent (the C library of the `convergent` CLI): streaming
statistics of K networks' activations, one-to-one matching, mutual information, spectral
clustering, similarity measures and the report, with the CLI's defaults and numbers.
See docs/python.md."""
import os as _os


def _prefer_passive_waiting():
    """As the CLI does: OpenMP threads that spin at barriers take the cores the working threads
    need when other jobs share the machine (measured: 16 ms -> 0.23 ms per small Stats.update
    at load 10 on 2 cores, docs/python.md). libgomp reads the policy once, when it loads; if
    numpy or torch loaded it before this import, it is too late and nothing changes. A policy
    the user set is kept."""
    if "OMP_WAIT_POLICY" in _os.environ:
        return
    try:
        with open("/proc/self/maps") as maps:
            if "libgomp" in maps.read():
                return
    except OSError:
        return
    _os.environ["OMP_WAIT_POLICY"] = "passive"


_prefer_passive_waiting()
from ._lib import Error, InvalidInput, IOFailure, NumericFailure, OutOfMemory
from ._lib import lib as _lib_handle
from ._lib import path as library_path
from .analysis import (MEASURES, Clustering, Lasso, Match, SimilarityResult, cluster,
                       compare_semi_matchings, lasso, match, mi, report, similarity, table1)
from .stats import LayerStats, Stats, load
from .record import Recorder, record
from .align import align, interpolation_barrier

__version__ = _lib_handle.cvg_version().decode()

__all__ = ["Stats", "LayerStats", "load", "record", "Recorder", "match", "Match", "mi",
           "cluster", "Clustering", "similarity", "SimilarityResult", "lasso", "Lasso",
           "compare_semi_matchings", "table1", "report", "MEASURES", "Error", "InvalidInput",
           "IOFailure", "OutOfMemory", "NumericFailure", "library_path", "align",
           "interpolation_barrier"]
