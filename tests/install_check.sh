#!/bin/sh
# cmake --install into a temporary prefix, then build a program against the installed library
# with pkg-config, statically and dynamically, and run it.
set -eu
build_dir=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
cat > "$prefix/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <convergent.h>
int main(void)
{
    cvg_npy *npy;
    if (cvg_npy_open("/nonexistent.npy", &npy) != CVG_ERR_IO) return 1;
    if (!strstr(cvg_last_error(), "/nonexistent.npy")) return 1;
    printf("convergent %s: %s\n", cvg_version(), cvg_strerror(CVG_ERR_FORMAT));
    return 0;
}
C
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"
cc "$prefix/use.c" -o "$prefix/use_shared" $(pkg-config --cflags --libs convergent) -Wl,-rpath,"$(pkg-config --variable=libdir convergent)"
"$prefix/use_shared"
cc "$prefix/use.c" -o "$prefix/use_static" $(pkg-config --cflags convergent) \
   "$(pkg-config --variable=libdir convergent)/libconvergent.a" $(pkg-config --libs --static convergent | sed 's/-lconvergent//')
"$prefix/use_static"
test -x "$prefix/bin/convergent"
"$prefix/bin/convergent" --version
