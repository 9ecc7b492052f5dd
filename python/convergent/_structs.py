"""ctypes mirrors of the public C structs of include/convergent_analysis.h.

Field for field, in the header's order. tests/python/test_abi.py compiles a C program against
the headers and checks every field's offset and every struct's size against these, so a
change of the header that is not made here fails the tests instead of corrupting memory.
"""
import ctypes as C

c_int, c_int32, c_int64, c_uint64, c_double = C.c_int, C.c_int32, C.c_int64, C.c_uint64, C.c_double
c_char_p, c_void_p = C.c_char_p, C.c_void_p

# typedef int (*cvg_progress_fn)(const char *task, uint64_t done, uint64_t total, void *user)
PROGRESS_FN = C.CFUNCTYPE(c_int, c_char_p, c_uint64, c_uint64, c_void_p)
# typedef void (*cvg_log_fn)(cvg_log_level level, const char *message, void *user)
LOG_FN = C.CFUNCTYPE(None, c_int, c_char_p, c_void_p)

SIM_MEASURES = 8   # CVG_SIM_MEASURES
SIM_REASON = 240   # CVG_SIM_REASON
NAME_MAX = 256     # CVG_NAME_MAX


class StatsOptions(C.Structure):
    _fields_ = [
        ("layout", c_int), ("reservoir", c_int64), ("seed", c_uint64), ("row_offset", c_int64),
        ("first_input", c_int64), ("input_count", c_int64), ("chunk_rows", c_int64), ("threads", c_int), ("skip_nonfinite", c_int), ("kernel", c_int),
        ("progress", PROGRESS_FN), ("progress_user", c_void_p), ("checkpoint", c_char_p),
        ("checkpoint_seconds", c_double), ("resume", c_int), ("conv_samples", c_int),
    ]


class MatchResult(C.Structure):
    _fields_ = [
        ("rows", c_int64), ("cols", c_int64),
        ("semi", C.POINTER(c_int64)), ("semi_value", C.POINTER(c_double)),
        ("match", C.POINTER(c_int64)), ("match_value", C.POINTER(c_double)),
        ("semi_mean", c_double), ("match_mean", c_double), ("overlap", c_double),
        ("excluded_rows", c_int64), ("excluded_cols", c_int64),
    ]


class MiOptions(C.Structure):
    _fields_ = [
        ("bins", c_int), ("zero_threshold", c_double), ("bias_correction", c_int), ("bits", c_int),
        ("threads", c_int), ("progress", PROGRESS_FN), ("progress_user", c_void_p),
        ("part", c_int), ("parts", c_int),
    ]


class ClusterOptions(C.Structure):
    _fields_ = [
        ("k", c_int), ("k_max", c_int), ("tau", c_double), ("alpha", c_double), ("min_split", c_int),
        ("restarts", c_int), ("max_iter", c_int), ("max_depth", c_int), ("seed", c_uint64),
        ("eigensolver", c_int), ("laplacian", c_int), ("refine", c_int), ("threads", c_int),
        ("progress", PROGRESS_FN), ("progress_user", c_void_p),
    ]


class ClusterNode(C.Structure):
    _fields_ = [
        ("parent", c_int32), ("depth", c_int32), ("first_child", c_int32), ("n_children", c_int32),
        ("leaf", c_int32), ("k", c_int32), ("offset", c_int64), ("size", c_int64),
        ("size_a", c_int64), ("size_b", c_int64), ("between", c_double), ("within_a", c_double),
        ("within_b", c_double), ("within", c_double),
    ]


class SimilarityOptions(C.Structure):
    _fields_ = [("ridge", c_double), ("svcca_variance", c_double)]


class Similarity(C.Structure):
    _fields_ = [
        ("value", c_double * SIM_MEASURES), ("defined", c_int * SIM_MEASURES),
        ("why", (C.c_char * SIM_REASON) * SIM_MEASURES),
        ("units_a", c_int64), ("units_b", c_int64), ("live_a", c_int64), ("live_b", c_int64),
        ("svcca_dims_a", c_int64), ("svcca_dims_b", c_int64), ("ncca", c_int64),
        ("rho", C.POINTER(c_double)), ("pwcca_weight", C.POINTER(c_double)),
    ]


class Blocks(C.Structure):
    _fields_ = [
        ("count", c_int), ("nets", c_int), ("layers", c_int), ("dim", c_int64), ("samples", c_int64),
        ("offset", C.POINTER(c_int64)), ("net", C.POINTER(c_int)), ("layer", C.POINTER(c_char_p)),
        ("comoment", C.POINTER(c_double)), ("sqnorm", C.POINTER(c_double)), ("cross", c_int),
        ("conv_samples", C.c_char * 16),
    ]


class LassoOptions(C.Structure):
    _fields_ = [
        ("path", c_int), ("min_ratio", c_double), ("lambdas", C.POINTER(c_double)), ("tol", c_double),
        ("max_sweeps", c_int), ("keep_weights", c_int),
    ]


class LassoResult(C.Structure):
    _fields_ = [
        ("path", c_int), ("p", c_int64), ("q", c_int64), ("live_p", c_int64), ("live_q", c_int64),
        ("lambda_", C.POINTER(c_double)), ("r2", C.POINTER(c_double)), ("nnz", C.POINTER(c_int64)),
        ("mean_r2", C.POINTER(c_double)), ("mean_nnz", C.POINTER(c_double)),
        ("weights", C.POINTER(c_double)), ("not_converged", c_int64),
    ]


# C type name -> ctypes mirror, for the layout test.
MIRRORS = {
    "cvg_stats_options": StatsOptions, "cvg_match_result": MatchResult, "cvg_mi_options": MiOptions,
    "cvg_cluster_options": ClusterOptions, "cvg_cluster_node": ClusterNode,
    "cvg_similarity_options": SimilarityOptions, "cvg_similarity": Similarity, "cvg_blocks": Blocks,
    "cvg_lasso_options": LassoOptions, "cvg_lasso_result": LassoResult,
}
