"""Finding libconvergent.so, declaring the C functions the package calls, turning status codes
into Python exceptions and the library's log messages into the `logging` module's."""
import ctypes as C
import ctypes.util
import logging
import os

from . import _structs as T

# The order of cvg_status in include/convergent_core.h.
OK, ERR_ARG, ERR_NOMEM, ERR_IO, ERR_FORMAT, ERR_UNSUPPORTED, ERR_SHAPE, ERR_NONFINITE, \
    ERR_EMPTY, ERR_NUMERIC, ERR_CANCELLED = range(11)


class Error(Exception):
    """A failure of libconvergent: `status` is the cvg_status code, `message` the library's
    sentence naming the file or argument and the defect (cvg_last_error)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class InvalidInput(Error, ValueError):
    """Bad arguments or data: wrong shape, dtype, NaN/Inf, empty or malformed files."""


class IOFailure(Error, OSError):
    """A file could not be opened, read, written or renamed."""


class OutOfMemory(Error, MemoryError):
    """An allocation in the library failed."""


class NumericFailure(Error, RuntimeError):
    """A numerical method did not converge, or a progress callback cancelled the call."""


_EXCEPTION = {ERR_ARG: InvalidInput, ERR_FORMAT: InvalidInput, ERR_UNSUPPORTED: InvalidInput,
              ERR_SHAPE: InvalidInput, ERR_NONFINITE: InvalidInput, ERR_EMPTY: InvalidInput,
              ERR_IO: IOFailure, ERR_NOMEM: OutOfMemory, ERR_NUMERIC: NumericFailure,
              ERR_CANCELLED: NumericFailure}


def _candidates():
    """Where the library may be, in the order tried (the first that exists is loaded)."""
    env = os.environ.get("CONVERGENT_LIBRARY")
    if env:  # named explicitly: no fallback that would hide a wrong path
        return [os.path.abspath(env) if os.sep in env else env]
    here = os.path.dirname(os.path.abspath(__file__))
    found = [os.path.join(here, "_native", "libconvergent.so"),          # bundled by pip install
             os.path.normpath(os.path.join(here, "..", "..", "build", "libconvergent.so"))]
    system = ctypes.util.find_library("convergent")                       # cmake --install
    if system:
        found.append(system)
    return found


def _load():
    tried = _candidates()
    for path in tried:
        if os.path.exists(path) or (not os.path.isabs(path) and "/" not in path):
            return C.CDLL(path), path
    raise ImportError("convergent: libconvergent.so not found (tried %s); build it with "
                      "'cmake -S . -B build && cmake --build build' or set CONVERGENT_LIBRARY "
                      "to its path" % ", ".join(tried))


lib, path = _load()

_i64p, _dblp, _fltp, _u8p = (C.POINTER(C.c_int64), C.POINTER(C.c_double), C.POINTER(C.c_float),
                             C.POINTER(C.c_uint8))
_vp, _cp, _st = C.c_void_p, C.c_char_p, C.c_int

# name: (restype, argtypes); handles (cvg_stats *) are void pointers.
_SIGNATURES = {
    "cvg_strerror": (_cp, [C.c_int]),
    "cvg_last_error": (_cp, []),
    "cvg_version": (_cp, []),
    "cvg_free": (None, [_vp]),
    "cvg_set_log": (None, [T.LOG_FN, _vp]),
    "cvg_stats_options_init": (None, [C.POINTER(T.StatsOptions)]),
    "cvg_stats_create": (_st, [_cp, C.c_int, C.c_int64, C.c_int64, C.c_int64,
                               C.POINTER(T.StatsOptions), C.POINTER(_vp)]),
    "cvg_stats_add_rows": (_st, [_vp, _fltp, C.c_int64, C.c_int64]),
    "cvg_stats_add_nets": (_st, [_vp, C.POINTER(_fltp), C.c_int64, C.c_int64]),
    "cvg_stats_add_nets_nchw": (_st, [_vp, C.POINTER(_fltp), C.c_int64, C.c_int64, C.c_int64]),
    "cvg_stats_load": (_st, [_cp, C.POINTER(_vp)]),
    "cvg_stats_save": (_st, [_vp, _cp]),
    "cvg_stats_add_source": (_st, [_vp, _cp]),
    "cvg_stats_merge": (_st, [_vp, _vp]),
    "cvg_stats_free": (None, [_vp]),
    "cvg_stats_list_layers": (_st, [_cp, C.POINTER(C.POINTER(_cp)), C.POINTER(C.c_int)]),
    "cvg_stats_layer": (_cp, [_vp]),
    "cvg_stats_create_widths": (_st, [_cp, C.c_int, _i64p, C.c_int64, C.c_int64,
                                      C.POINTER(T.StatsOptions), C.POINTER(_vp)]),
    "cvg_stats_net_units": (C.c_int64, [_vp, C.c_int]),
    "cvg_stats_dim": (C.c_int64, [_vp]),
    "cvg_stats_nets": (C.c_int, [_vp]),
    "cvg_stats_conv_samples": (C.c_int, [_vp]),
    "cvg_stats_units": (C.c_int64, [_vp]),
    "cvg_stats_count": (C.c_int64, [_vp]),
    "cvg_stats_skipped": (C.c_int64, [_vp]),
    "cvg_stats_mean": (_dblp, [_vp]),
    "cvg_stats_correlation": (_st, [_vp, _dblp, _dblp, _u8p]),
    "cvg_stats_samples": (_fltp, [_vp, _i64p]),
    "cvg_stats_sample_rows": (_i64p, [_vp]),
    "cvg_stats_blocks": (_st, [_vp, C.POINTER(T.Blocks)]),
    "cvg_blocks_free": (None, [C.POINTER(T.Blocks)]),
    "cvg_blocks_similarity": (_st, [C.POINTER(T.Blocks), C.c_int, C.c_int,
                                    C.POINTER(T.SimilarityOptions), C.POINTER(T.Similarity)]),
    "cvg_match": (_st, [_dblp, C.c_int64, C.c_int64, C.POINTER(T.MatchResult)]),
    "cvg_compare_semi_matchings_excluding": (_st, [_dblp, _dblp, C.c_int64, C.c_int64, C.POINTER(C.c_uint8),
                                                   C.POINTER(C.c_uint8), C.c_int, C.POINTER(C.c_int),
                                                   C.POINTER(C.c_double)]),
    "cvg_match_excluding": (_st, [_dblp, C.c_int64, C.c_int64, C.POINTER(C.c_uint8), C.POINTER(C.c_uint8),
                                  C.POINTER(T.MatchResult)]),
    "cvg_match_result_free": (None, [C.POINTER(T.MatchResult)]),
    "cvg_compare_semi_matchings": (_st, [_dblp, _dblp, C.c_int64, C.c_int64, C.c_int,
                                         C.POINTER(C.c_int), _dblp]),
    "cvg_mi_options_init": (None, [C.POINTER(T.MiOptions)]),
    "cvg_mi_matrix": (_st, [_fltp, C.c_int64, C.c_int64, C.POINTER(T.MiOptions), _dblp]),
    "cvg_cluster_options_init": (None, [C.POINTER(T.ClusterOptions)]),
    "cvg_cluster_paper_k": (C.c_int, [C.c_int, C.c_int64, C.c_int, C.c_char_p, C.c_size_t]),
    "cvg_cluster": (_st, [_dblp, C.c_int64, C.POINTER(T.ClusterOptions), C.POINTER(_vp)]),
    "cvg_cluster_paper_k_widths": (C.c_int, [C.c_int, C.c_int, _i64p, C.c_char_p, C.c_size_t]),
    "cvg_cluster_widths": (_st, [_dblp, C.c_int64, C.c_int64, C.POINTER(T.ClusterOptions),
                                 C.POINTER(_vp)]),
    "cvg_clustering_net_units": (C.c_int64, [_vp, C.c_int]),
    "cvg_clustering_free": (None, [_vp]),
    "cvg_clustering_k": (C.c_int, [_vp]),
    "cvg_clustering_suggested_k": (C.c_int, [_vp]),
    "cvg_clustering_eigenvalues": (_dblp, [_vp, C.POINTER(C.c_int)]),
    "cvg_clustering_isolated": (C.c_int64, [_vp]),
    "cvg_clustering_leaves": (C.c_int, [_vp]),
    "cvg_clustering_labels": (C.POINTER(C.c_int32), [_vp]),
    "cvg_clustering_order": (_i64p, [_vp]),
    "cvg_clustering_nodes": (C.c_int, [_vp]),
    "cvg_clustering_node": (C.POINTER(T.ClusterNode), [_vp, C.c_int]),
    "cvg_clustering_leaf_node": (C.c_int, [_vp, C.c_int]),
    "cvg_clustering_ranking": (C.POINTER(C.c_int32), [_vp]),
    "cvg_measure_name": (_cp, [C.c_int]),
    "cvg_similarity_options_init": (None, [C.POINTER(T.SimilarityOptions)]),
    "cvg_similarity_free": (None, [C.POINTER(T.Similarity)]),
    "cvg_lasso_options_init": (None, [C.POINTER(T.LassoOptions)]),
    "cvg_lasso_path": (_st, [_dblp, C.c_int64, C.c_int64, C.c_int64, C.c_int64, C.c_int64,
                             C.POINTER(T.LassoOptions), C.POINTER(T.LassoResult)]),
    "cvg_lasso_result_free": (None, [C.POINTER(T.LassoResult)]),
    "cvg_report_write": (_st, [_cp, _cp]),
}

for _name, (_res, _args) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype, _fn.argtypes = _res, _args


def last_error():
    return lib.cvg_last_error().decode("utf-8", "replace")


def check(status, what=None):
    """Raise the exception of a failed call, carrying the library's message."""
    if status == OK:
        return
    message = last_error() or lib.cvg_strerror(status).decode()
    if what:
        message = "%s: %s" % (what, message)
    raise _EXCEPTION.get(status, Error)(status, message)


def fail(message, status=ERR_ARG):
    """The exception for bad input found before calling the library (same classes)."""
    return _EXCEPTION.get(status, Error)(status, message)


def encode(text):
    return os.fsencode(text)


# The library's messages (warnings, notes) go to the logger "convergent".
logger = logging.getLogger("convergent")
_LEVELS = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR]


@T.LOG_FN
def _log_to_logging(level, message, user):
    logger.log(_LEVELS[level] if 0 <= level < 4 else logging.INFO, message.decode("utf-8", "replace"))


lib.cvg_set_log(_log_to_logging, None)
