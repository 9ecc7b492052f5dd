#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("convergent: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_fail(cvg_status st)
{
    const char *detail = cvg_last_error();
    return cli_error("%s", detail && *detail ? detail : cvg_strerror(st));
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "convergent %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nsee 'convergent %s --help'\n", command);
    va_end(ap);
    return 2;
}

const char *cli_option_value(const char *command, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_usage_error(command, "option %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_parse_int64(const char *command, const char *option, const char *text, int64_t min,
                    int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min) {
        return cli_usage_error(command, "%s expects an integer >= %lld, got '%s'", option, (long long)min, text);
    }
    *out = v;
    return 0;
}

int cli_parse_uint64(const char *command, const char *option, const char *text, uint64_t max,
                     uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v > max) {
        return cli_usage_error(command, "%s expects an integer in [0, %" PRIu64 "], got '%s'", option, max, text);
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *command, const char *option, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end) {
        return cli_usage_error(command, "%s expects a number, got '%s'", option, text);
    }
    *out = v;
    return 0;
}

static void log_to_stderr(cvg_log_level level, const char *message, void *user)
{
    int quiet = *(int *)user;
    if (level == CVG_LOG_DEBUG || (quiet && level == CVG_LOG_INFO)) return;
    cli_progress_end();
    fprintf(stderr, "%s%s\n", level >= CVG_LOG_WARN ? "convergent: warning: " : "", message);
}

void cli_install_log(int quiet)
{
    static int quiet_flag;
    quiet_flag = quiet;
    cvg_set_log(log_to_stderr, &quiet_flag);
}

int cli_list_layers(const char *dir, char ***names, int *count)
{
    cvg_status st = cvg_stats_list_layers(dir, names, count);
    return st == CVG_OK ? 0 : cli_fail(st);
}

int cli_list_stats_dirs(const char *dir, char ***names, char **kinds, int *count)
{
    cvg_status st = cvg_stats_list_dirs(dir, names, kinds, count);
    return st == CVG_OK ? 0 : cli_fail(st);
}

void cli_free_list(char **list, int count) { cvg_stats_free_layer_list(list, count); }

int cli_write_json(const char *path, const cJSON *json)
{
    char *text = cJSON_Print(json);
    if (!text) return cli_error("%s: out of memory", path);
    cvg_status st = cvg_write_file_atomic(path, text, strlen(text));
    free(text);
    return st == CVG_OK ? 0 : cli_fail(st);
}

int cli_make_dirs(const char *dir)
{
    cvg_status st = cvg_mkdirs(dir);
    return st == CVG_OK ? 0 : cli_fail(st);
}

int cli_parse_pair(const char *command, const char *text, int *a, int *b)
{
    char extra;
    if (sscanf(text, "%d,%d%c", a, b, &extra) != 2 || *a < 1 || *b < 1 || *a == *b)
        return cli_usage_error(command, "--pair expects two different network numbers from 1, "
                               "like 1,2; got '%s'", text);
    (*a)--, (*b)--;
    return 0;
}

int cli_single_argument(const char *command, const char *arg, const char **slot, const char *what)
{
    if (arg[0] == '-' && arg[1] != '\0') return cli_usage_error(command, "unknown option '%s'", arg);
    if (*slot) return cli_usage_error(command, "more than one %s given ('%s')", what, arg);
    *slot = arg;
    return 0;
}
