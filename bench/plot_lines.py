"""cvg_lines_png (include/convergent_report.h) from Python through ctypes, for the benchmarks'
curves: the figure is drawn by libconvergent's own plotting code (src/plot/lines_png.c).

    draw(lib_path, png, title, x_label, y_label, series, log_x=True, log_y=True, x_ticks=None)

series: a list of dicts {name, x, y, color (palette index), dashed (bool)}; x, y sequences of
floats (NaN where there is no point: the line breaks there)."""
import ctypes as C


class _Series(C.Structure):  # cvg_series
    _fields_ = [("name", C.c_char_p), ("x", C.POINTER(C.c_double)), ("y", C.POINTER(C.c_double)),
                ("n", C.c_int), ("color", C.c_int), ("dashed", C.c_int)]


class _Lines(C.Structure):  # cvg_lines
    _fields_ = [("title", C.c_char_p), ("x_label", C.c_char_p), ("y_label", C.c_char_p),
                ("log_x", C.c_int), ("log_y", C.c_int), ("series", C.POINTER(_Series)),
                ("n_series", C.c_int), ("x_ticks", C.POINTER(C.c_double)), ("n_x_ticks", C.c_int),
                ("width", C.c_int), ("height", C.c_int)]


def _doubles(values):
    return (C.c_double * len(values))(*[float(v) for v in values])


def draw(lib_path, png, title, x_label, y_label, series, log_x=True, log_y=True, x_ticks=None,
         width=0, height=0):
    lib = C.CDLL(lib_path)
    lib.cvg_lines_png.restype = C.c_int
    lib.cvg_lines_png.argtypes = [C.c_char_p, C.POINTER(_Lines)]
    lib.cvg_last_error.restype = C.c_char_p
    keep = []  # the arrays must outlive the call
    arr = (_Series * len(series))()
    for i, s in enumerate(series):
        x, y = _doubles(s["x"]), _doubles(s["y"])
        keep += [x, y]
        arr[i] = _Series(s["name"].encode() if s.get("name") else None, x, y, len(s["x"]),
                         int(s.get("color", i)), int(bool(s.get("dashed"))))
    ticks = _doubles(x_ticks) if x_ticks else None
    plot = _Lines(title.encode() if title else None, x_label.encode() if x_label else None,
                  y_label.encode() if y_label else None, int(log_x), int(log_y), arr, len(series),
                  ticks, len(x_ticks) if x_ticks else 0, width, height)
    status = lib.cvg_lines_png(png.encode(), C.byref(plot))
    if status != 0:
        raise RuntimeError(f"cvg_lines_png: {lib.cvg_last_error().decode()}")
