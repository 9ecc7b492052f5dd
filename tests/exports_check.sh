#!/bin/sh
# libconvergent.so exports exactly the public API: every dynamic symbol it defines starts with
# cvg_ and is declared CVG_API in a public header (include/convergent*.h), and every such
# declaration is exported.
# Usage: exports_check.sh LIBRARY INCLUDE_DIR
set -eu
lib=$1
include_dir=$2
header="$include_dir/convergent*.h"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '{print $NF}' | sort -u > "$tmp/exported"
cat "$include_dir"/convergent*.h | sed -n 's/^CVG_API [^(]*[ *]\(cvg_[a-z0-9_]*\)(.*/\1/p' | sort -u > "$tmp/declared"
status=0
if grep -v '^cvg_' "$tmp/exported" > "$tmp/foreign"; then
    echo "$lib exports symbols outside the cvg_ prefix:"; cat "$tmp/foreign"; status=1
fi
if comm -23 "$tmp/exported" "$tmp/declared" | grep . > "$tmp/extra"; then
    echo "$lib exports cvg_ symbols that $header does not declare CVG_API:"; cat "$tmp/extra"; status=1
fi
if comm -13 "$tmp/exported" "$tmp/declared" | grep . > "$tmp/missing"; then
    echo "$header declares functions that $lib does not export:"; cat "$tmp/missing"; status=1
fi
[ "$(wc -l < "$tmp/declared")" -gt 0 ] || { echo "no CVG_API declarations found in $header"; status=1; }
# Each header by audience compiles on its own.
for h in "$include_dir"/convergent*.h; do
    if ! printf '#include "%s"\nint main(void) { return 0; }\n' "$h" | cc -std=c17 -Wall -Wextra -Werror -x c -c -o /dev/null -; then
        echo "$h does not compile on its own"; status=1
    fi
done
[ $status -eq 0 ] && echo "$lib: $(wc -l < "$tmp/exported") symbols exported, all of them the public API"
exit $status
