/* The table-driven option parser of the subcommands (options.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"

static int takes_value(const cli_option *o) { return o->type != CLI_FLAG && o->type != CLI_FLAG_OFF; }

/* The row named by arg ("--name", "--name=v" or "-x"); *inline_value points after '=' if any. */
static const cli_option *find_row(const cli_spec *spec, const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    if (arg[1] != '-') {
        if (arg[2] != '\0') return NULL; /* short options are not bundled */
        for (int k = 0; k < spec->count; k++)
            if (spec->options[k].short_name && spec->options[k].short_name == arg[1]) return &spec->options[k];
        return NULL;
    }
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (int k = 0; k < spec->count; k++) {
        const char *n = spec->options[k].name;
        if (strlen(n) == len && strncmp(n, name, len) == 0) {
            if (eq) *inline_value = eq + 1;
            return &spec->options[k];
        }
    }
    return NULL;
}

/* A bound as written: integers in full (2^53 - 1, not 9.00719925474099e+15), others short. */
static const char *bound_text(double v, char *buf, size_t size)
{
    if (v == floor(v) && fabs(v) < 1e17) snprintf(buf, size, "%.0f", v);
    else snprintf(buf, size, "%.15g", v);
    return buf;
}

/* "an integer in [1, 254]", "a number > 0", "a finite number": the row's bounds in words. */
static int bounds_error(const cli_spec *spec, const cli_option *o, const char *what, const char *text)
{
    char range[96], lo[32], hi[32];
    bound_text(o->min, lo, sizeof lo), bound_text(o->max, hi, sizeof hi);
    int lower = o->min > -HUGE_VAL, upper = o->max < CLI_NO_MAX;
    if (lower && upper)
        snprintf(range, sizeof range, " in %c%s, %s%c", o->min_open ? '(' : '[', lo, hi, o->max_open ? ')' : ']');
    else if (lower)
        snprintf(range, sizeof range, " %s %s", o->min_open ? ">" : ">=", lo);
    else if (upper)
        snprintf(range, sizeof range, " %s %s", o->max_open ? "<" : "<=", hi);
    else
        snprintf(range, sizeof range, "%s", "");
    const char *noun = !lower && !upper && o->type == CLI_DOUBLE ? "a finite number" : what;
    return cli_usage_error(spec->command, "--%s expects %s%s, got '%s'", o->name, noun, range, text);
}

/* Within the row's bounds, open ones excluded; NaN never is. A max of CLI_NO_MAX or more is
 * no bound (an int64 or uint64 is limited by strtoll/strtoull's range instead). */
static int in_bounds(const cli_option *o, double v)
{
    return (o->min_open ? v > o->min : v >= o->min) &&
           (o->max >= CLI_NO_MAX || (o->max_open ? v < o->max : v <= o->max));
}

/* Integers go through strto(u)ll with the whole string checked, then the row's bounds. The
 * comparison is done in double: bounds are small or CLI_NO_MAX, where rounding is harmless. */
static int parse_integer(const cli_spec *spec, const cli_option *o, const char *text)
{
    char *end;
    errno = 0;
    if (o->type == CLI_UINT64) {
        unsigned long long v = strtoull(text, &end, 10);
        if (errno || end == text || *end || strchr(text, '-') || !in_bounds(o, (double)v))
            return bounds_error(spec, o, "an integer", text);
        *(uint64_t *)o->dest = v;
        return 0;
    }
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || !in_bounds(o, (double)v))
        return bounds_error(spec, o, "an integer", text);
    if (o->type == CLI_INT) *(int *)o->dest = (int)v; /* bounds keep it within int */
    else *(int64_t *)o->dest = v;
    return 0;
}

static int parse_choice(const cli_spec *spec, const cli_option *o, const char *text)
{
    for (int c = 0; o->choices[c]; c++)
        if (strcmp(o->choices[c], text) == 0) {
            *(int *)o->dest = c;
            return 0;
        }
    char list[512] = "";
    for (int c = 0; o->choices[c]; c++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", c ? ", " : "", o->choices[c]);
    return cli_usage_error(spec->command, "--%s expects one of %s, got '%s'", o->name, list, text);
}

static int set_value(const cli_spec *spec, const cli_option *o, const char *text)
{
    switch (o->type) {
    case CLI_INT:
    case CLI_INT64:
    case CLI_UINT64:
        return parse_integer(spec, o, text);
    case CLI_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(v) || !in_bounds(o, v))
            return bounds_error(spec, o, "a number", text);
        *(double *)o->dest = v;
        return 0;
    }
    case CLI_STRING:
        *(const char **)o->dest = text;
        return 0;
    case CLI_CHOICE:
        return parse_choice(spec, o, text);
    case CLI_CALL:
        return o->parse(spec->command, text, o->dest);
    case CLI_FLAG:
    case CLI_FLAG_OFF:
        break;
    }
    *(int *)o->dest = o->type == CLI_FLAG;
    return 0;
}

static int add_positional(const cli_spec *spec, const char *arg, const char **positionals, int *n)
{
    if (*n >= spec->max_positionals) {
        if (spec->max_positionals == 1)
            return cli_usage_error(spec->command, "more than one %s given ('%s')", spec->positional, arg);
        return cli_usage_error(spec->command, "too many arguments ('%s')", arg);
    }
    positionals[(*n)++] = arg;
    return 0;
}

static int is_help(const char *a) { return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0; }

int cli_parse(const cli_spec *spec, int argc, char **argv, const char **positionals,
              int *npositionals)
{
    int options_done = 0;
    *npositionals = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *value;
        int rc = 0;
        if (options_done || a[0] != '-' || a[1] == '\0') {
            rc = add_positional(spec, a, positionals, npositionals);
        } else if (strcmp(a, "--") == 0) {
            options_done = 1;
        } else if (is_help(a)) {
            cli_print_help(spec);
            return CLI_HELP_SHOWN;
        } else {
            const cli_option *o = find_row(spec, a, &value);
            if (!o) return cli_usage_error(spec->command, "unknown option '%s'", a);
            if (!takes_value(o) && value)
                return cli_usage_error(spec->command, "option --%s takes no value", o->name);
            if (takes_value(o) && !value) {
                if (i + 1 >= argc) return cli_usage_error(spec->command, "option %s needs a value", a);
                value = argv[++i];
            }
            rc = set_value(spec, o, value);
        }
        if (rc != 0) return rc;
    }
    return 0;
}

/* The row's default: its default_text, or the destination's current value. */
static void format_default(const cli_option *o, char *buf, size_t size)
{
    buf[0] = '\0';
    if (o->default_text) {
        snprintf(buf, size, "%s", o->default_text);
        return;
    }
    switch (o->type) {
    case CLI_INT: snprintf(buf, size, "%d", *(const int *)o->dest); break;
    case CLI_INT64: snprintf(buf, size, "%" PRId64, *(const int64_t *)o->dest); break;
    case CLI_UINT64: snprintf(buf, size, "%" PRIu64, *(const uint64_t *)o->dest); break;
    case CLI_DOUBLE: snprintf(buf, size, "%g", *(const double *)o->dest); break;
    case CLI_STRING:
        if (*(const char *const *)o->dest) snprintf(buf, size, "%s", *(const char *const *)o->dest);
        break;
    case CLI_CHOICE: snprintf(buf, size, "%s", o->choices[*(const int *)o->dest]); break;
    case CLI_FLAG:
    case CLI_FLAG_OFF:
    case CLI_CALL: break;
    }
}

static void print_row(const cli_option *o)
{
    char left[128], def[256];
    int n = o->short_name ? snprintf(left, sizeof left, "-%c, --%s", o->short_name, o->name)
                          : snprintf(left, sizeof left, "--%s", o->name);
    if (takes_value(o)) snprintf(left + n, sizeof left - (size_t)n, " %s", o->metavar ? o->metavar : "VALUE");
    format_default(o, def, sizeof def);
    printf("  %-24s %s", left, o->help);
    if (def[0]) printf(" (default: %s)", def);
    if (o->type == CLI_CHOICE) {
        printf(" [");
        for (int c = 0; o->choices[c]; c++) printf("%s%s", c ? ", " : "", o->choices[c]);
        printf("]");
    }
    putchar('\n');
}

void cli_print_help(const cli_spec *spec)
{
    printf("usage: convergent %s %s\n\n%s\n\noptions:\n", spec->command, spec->usage, spec->description);
    for (int k = 0; k < spec->count; k++) print_row(&spec->options[k]);
    printf("  %-24s %s\n", "-h, --help", "this help");
}

int cli_parse_pair(const char *command, const char *text, int allow_same, int *a, int *b)
{
    char extra;
    if (sscanf(text, "%d,%d%c", a, b, &extra) != 2 || *a < 1 || *b < 1 || (*a == *b && !allow_same))
        return cli_usage_error(command, "--pair expects two %snetwork numbers from 1, like 1,2; "
                               "got '%s'", allow_same ? "" : "different ", text);
    (*a)--, (*b)--;
    return 0;
}
