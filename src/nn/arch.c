/* The architecture description: layers separated by ';', each "name:spec[,op...]".
 *   conv layers (name starts with "conv"):  <channels>k<K>[s<S>][p<P>]    (S = 1, P = 0)
 *   fully connected (name starts with "fc"): <units>
 *   ops, applied in this order whatever order they are written in (ReLU comes first, implicit
 *   for every layer but the last):
 *     drop[<p>]              dropout, p = 0.5
 *     pool[<K>][s<S>][p<P>]  max pooling, K = 2, S = K, P = 0
 *     lrn[<size>][a<alpha>][b<beta>][k<k>]
 *                            across-channel LRN, size 5, alpha 1e-4, beta 0.75, k 1 (Caffe's
 *                            AlexNet; alpha is divided by size, as Caffe and PyTorch do)
 * Whitespace is ignored. Presets are names for whole descriptions. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nn/net_internal.h"

typedef struct preset {
    const char *name, *text;
} preset;

static const preset PRESETS[] = {
    /* `convergent run`'s networks: at least 32 units in every conv layer, as wide as 4 networks
     * trained to 89% fit in the run's 15 minutes on 2 cores (docs/training.md) */
    {"default", "conv1:32k5p2,pool3s2p1,lrn5;conv2:32k5p2,pool3s2p1,lrn5;conv3:48k3p1;"
                "conv4:48k3p1;conv5:32k3p1,pool3s2p1;fc6:256,drop0.5;fc7:256,drop0.5;fc8:10"},
    /* the former default: half as many conv1 units, 1.5x faster */
    {"small", "conv1:16k5p2,pool3s2p1,lrn5;conv2:32k5p2,pool3s2p1,lrn5;conv3:48k3p1;"
              "conv4:48k3p1;conv5:32k3p1,pool3s2p1;fc6:256,drop0.5;fc7:256,drop0.5;fc8:10"},
    {"wide", "conv1:32k5p2,pool3s2p1,lrn5;conv2:48k5p2,pool3s2p1,lrn5;conv3:64k3p1;"
             "conv4:64k3p1;conv5:48k3p1,pool3s2p1;fc6:256,drop0.5;fc7:256,drop0.5;fc8:10"},
    /* AlexNet's widths (96/256/384/384/256, 4096-unit fc6, fc7) on 28x28 inputs: the paper's
     * layer sizes, for runs of hours (docs/training.md) */
    {"paper", "conv1:96k5p2,pool3s2p1,lrn5;conv2:256k5p2,pool3s2p1,lrn5;conv3:384k3p1;"
              "conv4:384k3p1;conv5:256k3p1,pool3s2p1;fc6:4096,drop0.5;fc7:4096,drop0.5;fc8:10"},
    {"tiny", "conv1:4k3p1,pool2,lrn5;conv2:6k3p1,pool2,lrn5;conv3:8k3p1;conv4:8k3p1;"
             "conv5:6k3p1,pool2;fc6:16,drop0.5;fc7:16,drop0.5;fc8:10"},
};

const char *cvg_net_preset(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof PRESETS / sizeof *PRESETS; i++)
        if (strcmp(name, PRESETS[i].name) == 0) return PRESETS[i].text;
    return NULL;
}

/* Read a non-negative integer at *p (advancing); -1 if there is none or it is too big. */
static int read_int(const char **p)
{
    if (!isdigit((unsigned char)**p)) return -1;
    long v = 0;
    while (isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        if (v > 1000000) return -1;
        (*p)++;
    }
    return (int)v;
}

static cvg_status bad(const char *text, const char *item, const char *why)
{
    return cvg__fail(CVG_ERR_ARG, "architecture '%s': '%s': %s", text, item, why);
}

/* One ',' separated op of a layer. */
static cvg_status parse_op(const char *text, const char *op, nn_layer *L)
{
    const char *p = op;
    if (strncmp(p, "drop", 4) == 0) {
        p += 4;
        L->drop = 0.5f;
        if (*p) {
            char *end;
            double v = strtod(p, &end);
            if (*end || v <= 0 || v >= 1) return bad(text, op, "dropout needs 0 < p < 1");
            L->drop = (float)v;
        }
        return CVG_OK;
    }
    if (strncmp(p, "pool", 4) == 0) {
        p += 4;
        L->pool = 1;
        L->pool_k = 2;
        L->pool_p = 0;
        if (isdigit((unsigned char)*p)) L->pool_k = read_int(&p);
        L->pool_s = L->pool_k;
        if (*p == 's') {
            p++;
            L->pool_s = read_int(&p);
        }
        if (*p == 'p') {
            p++;
            L->pool_p = read_int(&p);
        }
        if (*p || L->pool_k < 1 || L->pool_s < 1 || L->pool_p < 0 || 2 * L->pool_p > L->pool_k)
            return bad(text, op, "expected pool[K][sS][pP] with K, S >= 1 and P <= K/2");
        return CVG_OK;
    }
    if (strncmp(p, "lrn", 3) == 0) {
        p += 3;
        L->lrn = 1;
        L->lrn_p = (nn_lrn_param){5, 1e-4f, 0.75f, 1.0f};
        if (isdigit((unsigned char)*p)) L->lrn_p.size = read_int(&p);
        /* optional a<alpha> b<beta> k<k>, in this order */
        float *dst[3] = {&L->lrn_p.alpha, &L->lrn_p.beta, &L->lrn_p.k};
        const char tags[3] = {'a', 'b', 'k'};
        for (int t = 0; t < 3; t++) {
            if (*p != tags[t]) continue;
            char *end;
            double v = strtod(p + 1, &end);
            if (end == p + 1 || !(v >= 0) || v > 1e6) return bad(text, op, "bad LRN parameter");
            *dst[t] = (float)v;
            p = end;
        }
        if (*p || L->lrn_p.size < 1 || !(L->lrn_p.k > 0))
            return bad(text, op, "expected lrn[size][a<alpha>][b<beta>][k<k>] with size >= 1, k > 0");
        return CVG_OK;
    }
    return bad(text, op, "unknown operation (drop, pool, lrn)");
}

static cvg_status parse_layer(const char *text, char *item, nn_layer *L)
{
    memset(L, 0, sizeof *L);
    char *colon = strchr(item, ':');
    if (!colon) return bad(text, item, "expected name:spec");
    *colon = '\0';
    const char *name = item;
    if (!*name || strlen(name) >= sizeof L->name) return bad(text, name, "bad layer name");
    for (const char *q = name; *q; q++)
        if (!isalnum((unsigned char)*q) && *q != '_') return bad(text, name, "layer names use letters, digits and _");
    snprintf(L->name, sizeof L->name, "%s", name);
    char *spec = colon + 1, *ops = strchr(spec, ',');
    if (ops) *ops++ = '\0';
    const char *p = spec;
    if (strncmp(name, "conv", 4) == 0) {
        L->kind = NN_CONV;
        L->width = read_int(&p);
        if (*p != 'k') return bad(text, spec, "a conv layer needs <channels>k<K>[sS][pP]");
        p++;
        L->K = read_int(&p);
        L->S = 1;
        L->P = 0;
        if (*p == 's') {
            p++;
            L->S = read_int(&p);
        }
        if (*p == 'p') {
            p++;
            L->P = read_int(&p);
        }
        if (*p || L->width < 1 || L->K < 1 || L->S < 1 || L->P < 0)
            return bad(text, spec, "a conv layer needs <channels>k<K>[sS][pP], all >= 1 (P >= 0)");
    } else if (strncmp(name, "fc", 2) == 0) {
        L->kind = NN_FC;
        L->width = read_int(&p);
        if (*p || L->width < 1) return bad(text, spec, "a fully connected layer needs <units> >= 1");
    } else {
        return bad(text, name, "layer names start with conv or fc (the kind of layer)");
    }
    while (ops && *ops) {
        char *next = strchr(ops, ',');
        if (next) *next++ = '\0';
        cvg_status st = parse_op(text, ops, L);
        if (st != CVG_OK) return st;
        ops = next;
    }
    return CVG_OK;
}

cvg_status nn_arch_parse(const char *text, nn_layer **layers, int *count)
{
    *layers = NULL;
    *count = 0;
    if (!text) return cvg__fail(CVG_ERR_ARG, "no architecture given");
    const char *pre = cvg_net_preset(text);
    if (pre) text = pre;
    /* a copy without whitespace, cut at ';' */
    size_t n = strlen(text);
    char *s = cvg__malloc(n + 1, "the architecture");
    if (!s) return CVG_ERR_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)text[i])) s[m++] = text[i];
    s[m] = '\0';
    int cnt = 1;
    for (size_t i = 0; i < m; i++) cnt += s[i] == ';';
    nn_layer *L = cvg__calloc((size_t)cnt, sizeof *L, "layers");
    if (!L) {
        free(s);
        return CVG_ERR_NOMEM;
    }
    cvg_status st = CVG_OK;
    char *item = s;
    int got = 0;
    while (item && st == CVG_OK) {
        char *next = strchr(item, ';');
        if (next) *next++ = '\0';
        if (*item) st = parse_layer(text, item, &L[got++]);
        else if (next || got == 0) st = bad(text, "", "empty layer");
        item = next;
    }
    if (st == CVG_OK && got == 0) st = bad(text, "", "no layers");
    for (int i = 0; i < got && st == CVG_OK; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(L[i].name, L[j].name) == 0) {
                st = bad(text, L[i].name, "two layers with the same name");
                break;
            }
    for (int i = 1; i < got && st == CVG_OK; i++)
        if (L[i].kind == NN_CONV && L[i - 1].kind == NN_FC)
            st = bad(text, L[i].name, "a conv layer cannot follow a fully connected one");
    if (st == CVG_OK && L[got - 1].drop > 0)
        st = bad(text, L[got - 1].name, "no dropout on the last layer (its outputs are the logits)");
    free(s);
    if (st != CVG_OK) {
        free(L);
        return st;
    }
    for (int i = 0; i < got; i++) L[i].relu = i + 1 < got;
    *layers = L;
    *count = got;
    return CVG_OK;
}

char *nn_arch_format(const nn_layer *L, int count)
{
    size_t cap = 128 * (size_t)count + 1;
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t n = 0;
    for (int i = 0; i < count; i++) {
        const nn_layer *l = &L[i];
        n += (size_t)snprintf(s + n, cap - n, "%s%s:", i ? ";" : "", l->name);
        if (l->kind == NN_CONV)
            n += (size_t)snprintf(s + n, cap - n, "%dk%ds%dp%d", l->width, l->K, l->S, l->P);
        else
            n += (size_t)snprintf(s + n, cap - n, "%d", l->width);
        if (l->drop > 0) n += (size_t)snprintf(s + n, cap - n, ",drop%g", (double)l->drop);
        if (l->pool)
            n += (size_t)snprintf(s + n, cap - n, ",pool%ds%dp%d", l->pool_k, l->pool_s, l->pool_p);
        if (l->lrn) {
            const nn_lrn_param *q = &l->lrn_p;
            n += (size_t)snprintf(s + n, cap - n, ",lrn%d", q->size);
            if (q->alpha != 1e-4f || q->beta != 0.75f || q->k != 1.0f)
                n += (size_t)snprintf(s + n, cap - n, "a%gb%gk%g", (double)q->alpha,
                                      (double)q->beta, (double)q->k);
        }
    }
    return s;
}
