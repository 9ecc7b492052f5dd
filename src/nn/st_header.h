/* Strict checks of a safetensors checkpoint (st_header.c): the header's bytes and JSON, the
 * tensors' layout in the data section, and the values. */
#ifndef CVG_ST_HEADER_H
#define CVG_ST_HEADER_H

#include <stdint.h>

#include "convergent.h"

struct cJSON;

/* Parse the len header bytes at text: no NUL or control byte, no "\u0000" in a string, a JSON
 * object followed by space padding only, no key twice (top level, metadata, tensor entries),
 * metadata values strings. *root: the parsed header (cJSON_Delete), NULL on failure. Errors
 * name path (CVG_ERR_FORMAT). */
cvg_status st_header_parse(const char *path, const char *text, uint64_t len, struct cJSON **root);
/* Every entry but __metadata__ is a tensor known(name) accepts, with whole-number data_offsets,
 * and the tensors tile [0, data_len) exactly: no gap, no overlap, no bytes after them. */
cvg_status st_check_layout(const char *path, const struct cJSON *root, uint64_t data_len,
                           int (*known)(const char *name, void *user), void *user);
/* The index of the first NaN or infinity among n floats, or -1. */
int64_t st_first_nonfinite(const float *v, int64_t n);

#endif
