#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static const char *message_prefix = "convergent: ";

void cli_set_message_prefix(const char *prefix) { message_prefix = prefix; }

int cli_error(const char *fmt, ...)
{
    char text[8192], shown[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    cli_output_rename(text, shown, sizeof shown); /* name outputs as they will be published */
    fprintf(stderr, "%s%s\n", message_prefix, shown);
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

struct cJSON *cli_read_json(const char *path)
{
    char *text;
    if (cvg_read_file(path, &text, NULL) != CVG_OK) return NULL;
    cJSON *json = cJSON_Parse(text);
    cvg_free(text);
    return json;
}

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
