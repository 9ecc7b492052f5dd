#!/bin/sh
# The readers that read only their blocks of a layer's D x D matrix (cvg_stats_matrix_open:
# mi, match, match --metric mi, cluster, similarity, report) write byte for byte what the
# whole-matrix path writes (CVG_MATRIX_READ=whole: the matrix read whole at open, as before).
# Both runs start from one copy of the same statistics, in the same directory path (report.html
# names it), and every file they write is compared with cmp. Layers: a conv layer of 4 nets
# (6 pairs), an fc layer of 2, and an fc layer of 3 nets of different widths (6, 9, 7 units:
# rectangular blocks; match, mi, similarity).
#   readers_blocks_check.sh CLI FIXTURES WORKDIR
set -eu
CLI=$1 FIX=$2 WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK"
R=$WORK/r

"$CLI" stats -q -o "$WORK/stats" --layer conv "$FIX"/stats/conv_k4_nchw/net*.npy
"$CLI" stats -q -o "$WORK/stats" --layer fc "$FIX"/stats/fc_k2/net*.npy
/usr/bin/python3 - "$WORK" <<'EOF'
import sys
import numpy as np
rng = np.random.default_rng(7)
f = rng.standard_normal((500, 5))
for k, width in enumerate((6, 9, 7)):  # units driven by shared factors, so pairs correlate
    w = rng.standard_normal((5, width))
    x = np.maximum(f @ w + 0.5 * rng.standard_normal((500, width)), 0).astype(np.float32)
    np.save("%s/wide%d.npy" % (sys.argv[1], k + 1), x)
EOF
"$CLI" stats -q -o "$WORK/widths" --layer fc "$WORK"/wide1.npy "$WORK"/wide2.npy "$WORK"/wide3.npy

run_all() { # the pipeline of the readers into $R, then moved to $1
    rm -rf "$R"
    mkdir -p "$R"
    cp -r "$WORK/stats" "$R/stats"
    cp -r "$WORK/widths" "$R/widths"
    "$CLI" mi -q "$R/stats"
    "$CLI" match -q "$R/stats" -o "$R/match"
    "$CLI" match -q "$R/stats" -o "$R/match_mi" --metric mi
    "$CLI" cluster -q "$R/stats" -o "$R/cluster"
    "$CLI" similarity -q "$R/stats" -o "$R/similarity" --lasso-path 5
    "$CLI" report "$R" -q
    "$CLI" mi -q "$R/widths"
    "$CLI" match -q "$R/widths" -o "$R/widths_match"
    "$CLI" match -q "$R/widths" -o "$R/widths_match_mi" --metric mi
    "$CLI" similarity -q "$R/widths" -o "$R/widths_similarity" --lasso-path 5
    mv "$R" "$1"
}
unset CVG_MATRIX_READ
run_all "$WORK/blocks"
CVG_MATRIX_READ=whole run_all "$WORK/whole"

(cd "$WORK/whole" && find . -type f ! -name '.*' ! -path '*/.*' | sort) >"$WORK/whole.list"
(cd "$WORK/blocks" && find . -type f ! -name '.*' ! -path '*/.*' | sort) >"$WORK/blocks.list"
if ! cmp -s "$WORK/whole.list" "$WORK/blocks.list"; then
    echo "FAIL: the two paths wrote different sets of files:"
    diff "$WORK/whole.list" "$WORK/blocks.list" || true
    exit 1
fi
n=0
fail=0
while read -r f; do
    n=$((n + 1))
    if ! cmp -s "$WORK/whole/$f" "$WORK/blocks/$f"; then
        echo "FAIL: $f differs between the whole-matrix and the block readers"
        fail=1
    fi
done <"$WORK/whole.list"
for must in match/conv/match_3_4_permuted.npy cluster/conv/cluster_2_4_labels.npy \
            similarity/conv/similarity_1_3.json report.html stats/conv/mi.json \
            widths_match/fc/match_2_3_permuted.npy widths_similarity/fc/similarity_1_2.json; do
    [ -s "$WORK/blocks/$must" ] || { echo "FAIL: $must was not written"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok: $n files byte-identical between the whole-matrix and the block readers"
exit $fail
