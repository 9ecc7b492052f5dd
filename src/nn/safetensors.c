/* Checkpoints in the safetensors format (https://github.com/huggingface/safetensors):
 *   8 bytes: N, the header length, unsigned little-endian
 *   N bytes: a JSON object {"<tensor>": {"dtype": "F32", "shape": [...], "data_offsets":
 *            [begin, end]}, ..., "__metadata__": {"<key>": "<string>", ...}}, padded with
 *            spaces to a multiple of 8 bytes
 *   the tensors' bytes, little-endian float32, at data_offsets relative to the end of the header.
 * Tensors: "<layer>.weight" (OIHW for conv, (out, in) for fc, as PyTorch) and "<layer>.bias";
 * training checkpoints add "<layer>.weight.momentum" and "<layer>.bias.momentum". Metadata
 * always holds "format" = "convergent", "arch" (the canonical description) and "input"
 * ("CxHxW"). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/internal.h"
#include "nn/net_internal.h"
#include "nn/st_header.h"

#define ST_MAX_HEADER (100u << 20)

static int host_le(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static void put_floats(FILE *fp, const float *v, int64_t n)
{
    if (host_le()) {
        fwrite(v, sizeof(float), (size_t)n, fp);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        unsigned char b[4], o[4];
        memcpy(b, &v[i], 4);
        o[0] = b[3], o[1] = b[2], o[2] = b[1], o[3] = b[0];
        fwrite(o, 1, 4, fp);
    }
}

static void add_tensor(cJSON *root, const char *name, const int64_t *shape, int nd, int64_t *off,
                       int64_t count)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "dtype", "F32");
    cJSON *sh = cJSON_CreateArray();
    for (int i = 0; i < nd; i++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)shape[i]));
    cJSON_AddItemToObject(t, "shape", sh);
    cJSON *o = cJSON_CreateArray();
    cJSON_AddItemToArray(o, cJSON_CreateNumber((double)*off));
    cJSON_AddItemToArray(o, cJSON_CreateNumber((double)(*off + 4 * count)));
    cJSON_AddItemToObject(t, "data_offsets", o);
    cJSON_AddItemToObject(root, name, t);
    *off += 4 * count;
}

/* The shape of a layer's weight: (O, C, K, K) or (O, F). */
static int weight_shape(const nn_layer *L, int64_t shape[4])
{
    shape[0] = L->width;
    if (L->kind == NN_CONV) {
        shape[1] = L->in_c, shape[2] = L->K, shape[3] = L->K;
        return 4;
    }
    shape[1] = L->nw / L->width;
    return 2;
}

cvg_status nn_checkpoint_save(const cvg_net *net, const float *momentum, const char *const *meta,
                              const char *path)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *md = cJSON_CreateObject();
    char input[64];
    snprintf(input, sizeof input, "%dx%dx%d", net->in_c, net->in_h, net->in_w);
    cJSON_AddStringToObject(md, "format", "convergent");
    cJSON_AddStringToObject(md, "arch", net->arch);
    cJSON_AddStringToObject(md, "input", input);
    for (int i = 0; meta && meta[i] && meta[i + 1]; i += 2) cJSON_AddStringToObject(md, meta[i], meta[i + 1]);
    cJSON_AddItemToObject(root, "__metadata__", md);
    int64_t off = 0;
    char name[64];
    for (int pass = 0; pass < (momentum ? 2 : 1); pass++)
        for (int i = 0; i < net->nl; i++) {
            const nn_layer *L = &net->L[i];
            int64_t shape[4];
            int nd = weight_shape(L, shape);
            snprintf(name, sizeof name, "%s.weight%s", L->name, pass ? ".momentum" : "");
            add_tensor(root, name, shape, nd, &off, L->nw);
            snprintf(name, sizeof name, "%s.bias%s", L->name, pass ? ".momentum" : "");
            add_tensor(root, name, &L->nb, 1, &off, L->nb);
        }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory", path);
    size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    unsigned char head[8];
    for (int i = 0; i < 8; i++) head[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    cvg__atomic_file af;
    cvg_status st = cvg__atomic_open(&af, path);
    if (st != CVG_OK) {
        free(text);
        return st;
    }
    fwrite(head, 1, 8, af.fp);
    fwrite(text, 1, len, af.fp);
    for (size_t i = len; i < padded; i++) fputc(' ', af.fp);
    free(text);
    /* parameters are stored layer by layer, weight then bias: the same order as the block */
    put_floats(af.fp, net->params, net->nparams);
    if (momentum) put_floats(af.fp, momentum, net->nparams);
    return cvg__atomic_commit(&af);
}

cvg_status cvg_net_save(const cvg_net *net, const char *path)
{
    if (!net || !path) return cvg__fail(CVG_ERR_ARG, "cvg_net_save: NULL argument");
    return nn_checkpoint_save(net, NULL, NULL, path);
}

/* Copy tensor `name` (F32, `count` values of the given shape) from the data section into dst. */
static cvg_status get_tensor(const char *path, const cJSON *root, const char *name,
                             const int64_t *shape, int nd, const unsigned char *data,
                             uint64_t data_len, float *dst, int optional, int *found)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, name);
    if (found) *found = t != NULL;
    if (!t) {
        if (optional) return CVG_OK;
        return cvg__fail(CVG_ERR_FORMAT, "%s: no tensor '%s'", path, name);
    }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(t, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2)
        return cvg__fail(CVG_ERR_FORMAT, "%s: tensor '%s' lacks dtype, shape or data_offsets", path, name);
    if (strcmp(dt->valuestring, "F32") != 0)
        return cvg__fail(CVG_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s, expected F32", path,
                         name, dt->valuestring);
    int64_t count = 1;
    int ok = cJSON_GetArraySize(sh) == nd;
    for (int i = 0; ok && i < nd; i++) {
        const cJSON *v = cJSON_GetArrayItem(sh, i);
        ok = cJSON_IsNumber(v) && v->valuedouble == (double)shape[i];
        count *= shape[i];
    }
    if (!ok) return cvg__fail(CVG_ERR_SHAPE, "%s: tensor '%s' does not have the shape its "
                              "architecture gives", path, name);
    const cJSON *b = cJSON_GetArrayItem(of, 0), *e = cJSON_GetArrayItem(of, 1);
    if (!cJSON_IsNumber(b) || !cJSON_IsNumber(e) || b->valuedouble < 0 ||
        e->valuedouble > (double)data_len || e->valuedouble - b->valuedouble != 4.0 * (double)count)
        return cvg__fail(CVG_ERR_FORMAT, "%s: tensor '%s' has data_offsets outside the file or "
                         "not matching its shape", path, name);
    const unsigned char *src = data + (uint64_t)b->valuedouble;
    for (int64_t i = 0; i < count; i++) {
        unsigned char v[4];
        memcpy(v, src + 4 * i, 4);
        if (!host_le()) {
            unsigned char t0 = v[0], t1 = v[1];
            v[0] = v[3], v[1] = v[2], v[2] = t1, v[3] = t0;
        }
        memcpy(&dst[i], v, 4);
    }
    return CVG_OK;
}

/* "CxHxW", each size a decimal in [1, MAX_INPUT_SIZE] (strtol: an overflowing number is
 * refused, where sscanf's behaviour is undefined). Returns 1 when it parses. */
enum { MAX_INPUT_SIZE = 1 << 20 };
static int parse_input(const char *text, int *c, int *h, int *w)
{
    int *dims[3] = {c, h, w};
    const char *p = text;
    for (int i = 0; i < 3; i++) {
        if (*p < '0' || *p > '9') return 0;
        char *end;
        errno = 0;
        const long v = strtol(p, &end, 10);
        if (errno || v < 1 || v > MAX_INPUT_SIZE || *end != (i < 2 ? 'x' : '\0')) return 0;
        *dims[i] = (int)v;
        p = end + 1;
    }
    return 1;
}

/* Whether name is one of the net's tensors: "<layer>.weight" or ".bias", with or without
 * ".momentum" (st_check_layout's callback). */
static int is_parameter_name(const char *name, void *user)
{
    const cvg_net *net = user;
    for (int i = 0; i < net->nl; i++) {
        const size_t n = strlen(net->L[i].name);
        if (strncmp(name, net->L[i].name, n) != 0) continue;
        const char *rest = name + n;
        if (!strcmp(rest, ".weight") || !strcmp(rest, ".bias") || !strcmp(rest, ".weight.momentum") ||
            !strcmp(rest, ".bias.momentum"))
            return 1;
    }
    return 0;
}

/* A NaN or infinity among the parameters (or the momentum: block laid out as net->params) is
 * an error naming the file, the tensor and the index: such a network computes NaN, or zeros
 * after a ReLU, and every result downstream would be silently meaningless. */
static cvg_status refuse_nonfinite(const char *path, const cvg_net *net, const float *block,
                                   const char *suffix)
{
    for (int i = 0; i < net->nl; i++) {
        const nn_layer *L = &net->L[i];
        const int64_t w = st_first_nonfinite(block + (L->w - net->params), L->nw);
        const int64_t b = w >= 0 ? -1 : st_first_nonfinite(block + (L->b - net->params), L->nb);
        if (w < 0 && b < 0) continue;
        const float v = w >= 0 ? block[(L->w - net->params) + w] : block[(L->b - net->params) + b];
        return cvg__fail(CVG_ERR_NONFINITE, "%s: tensor '%s.%s%s' holds %s at index %lld: a "
                         "network with non-finite parameters is refused", path, L->name,
                         w >= 0 ? "weight" : "bias", suffix, isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"),
                         (long long)(w >= 0 ? w : b));
    }
    return CVG_OK;
}

cvg_status nn_checkpoint_load(const char *path, cvg_net **out, float **momentum_out,
                              struct cJSON **meta_json)
{
    *out = NULL;
    if (momentum_out) *momentum_out = NULL;
    if (meta_json) *meta_json = NULL;
    char *file;
    size_t size;
    cvg_status st = cvg_read_file(path, &file, &size);
    if (st != CVG_OK) return st;
    cJSON *root = NULL;
    cvg_net *net = NULL;
    float *mom = NULL;
    uint64_t hlen = 0;
    if (size < 8) {
        st = cvg__fail(CVG_ERR_FORMAT, "%s: not a safetensors file (%zu bytes)", path, size);
        goto done;
    }
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)(unsigned char)file[i] << (8 * i);
    if (hlen > ST_MAX_HEADER || hlen > size - 8) {
        st = cvg__fail(CVG_ERR_FORMAT, "%s: not a safetensors file: header length %llu exceeds "
                       "the file", path, (unsigned long long)hlen);
        goto done;
    }
    if ((st = st_header_parse(path, file + 8, hlen, &root)) != CVG_OK) goto done;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(md, "arch");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(md, "input");
    int c, h, w;
    if (!cJSON_IsString(arch) || !cJSON_IsString(input)) {
        st = cvg__fail(CVG_ERR_FORMAT, "%s: no convergent metadata (arch, input): not written "
                       "by convergent train?", path);
        goto done;
    }
    if (!parse_input(input->valuestring, &c, &h, &w)) {
        st = cvg__fail(CVG_ERR_FORMAT, "%s: input '%.40s' is not CxHxW with sizes 1 to %d", path,
                       input->valuestring, MAX_INPUT_SIZE);
        goto done;
    }
    /* every parameter is stored as a float32 in the file: no more than its bytes can hold */
    st = nn_net_create(arch->valuestring, c, h, w, (int64_t)((size - 8 - hlen) / 4), &net);
    if (st != CVG_OK) {
        cvg__error_context("%s", path);
        goto done;
    }
    const unsigned char *data = (const unsigned char *)file + 8 + hlen;
    uint64_t data_len = size - 8 - hlen;
    int found_all = 1;
    if (momentum_out && !(mom = cvg__calloc((size_t)net->nparams, sizeof(float), "momentum"))) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    char name[64];
    for (int pass = 0; pass < (mom ? 2 : 1) && st == CVG_OK; pass++) {
        float *base = pass ? mom : net->params;
        for (int i = 0; i < net->nl && st == CVG_OK; i++) {
            const nn_layer *L = &net->L[i];
            int64_t shape[4];
            int nd = weight_shape(L, shape), found = 1;
            snprintf(name, sizeof name, "%s.weight%s", L->name, pass ? ".momentum" : "");
            st = get_tensor(path, root, name, shape, nd, data, data_len,
                            base + (L->w - net->params), pass, &found);
            found_all &= found;
            if (st != CVG_OK) break;
            snprintf(name, sizeof name, "%s.bias%s", L->name, pass ? ".momentum" : "");
            st = get_tensor(path, root, name, &L->nb, 1, data, data_len,
                            base + (L->b - net->params), pass, &found);
            found_all &= found;
        }
    }
    if (st == CVG_OK) st = st_check_layout(path, root, data_len, is_parameter_name, net);
    if (st == CVG_OK) st = refuse_nonfinite(path, net, net->params, "");
    if (st == CVG_OK && mom && !found_all) {
        free(mom);
        mom = NULL;
    }
    if (st == CVG_OK && mom) st = refuse_nonfinite(path, net, mom, ".momentum");
    if (st == CVG_OK && meta_json) *meta_json = cJSON_DetachItemFromObject(root, "__metadata__");
done:
    cJSON_Delete(root);
    free(file);
    if (st != CVG_OK) {
        cvg_net_free(net);
        free(mom);
        return st;
    }
    *out = net;
    if (momentum_out) *momentum_out = mom;
    return CVG_OK;
}

cvg_status cvg_net_load(const char *path, cvg_net **out)
{
    if (!path || !out) return cvg__fail(CVG_ERR_ARG, "cvg_net_load: NULL argument");
    return nn_checkpoint_load(path, out, NULL, NULL);
}
