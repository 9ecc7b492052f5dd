/* The network engine's data, architecture, checkpoint and inference paths:
 *   - IDX reading (plain and gzip'd), a malformed corpus, datasets in the MNIST layout;
 *   - architecture descriptions: presets, canonical round trip, rejected descriptions;
 *   - the forward pass of a fixed small network against PyTorch (tests/fixtures/nn, made by
 *     make_nn_fixtures.py), whose weights come in a safetensors file written by Python;
 *   - checkpoints: our safetensors layout, save/load round trip, broken files;
 *   - extraction to .npy against the in-memory activations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "test_support.h"
#include "nn/net_internal.h"

static char *fixture(const char *name)
{
    char *p = malloc(strlen(CVG_FIXTURE_DIR) + strlen(name) + 8);
    sprintf(p, "%s/nn/%s", CVG_FIXTURE_DIR, name);
    return p;
}

/* ---- IDX */

static void test_idx_plain_and_gzip(void **state)
{
    (void)state;
    char *plain = fixture("good.idx"), *gz = fixture("good.idx.gz"), *vals = fixture("good_values.npy");
    int nd, nd2, nv;
    int64_t dims[CVG_NPY_MAX_DIMS], dims2[CVG_NPY_MAX_DIMS], vshape[CVG_NPY_MAX_DIMS];
    uint8_t *a, *b;
    double *expect;
    assert_cvg_ok(cvg_idx_load(plain, &nd, dims, &a));
    assert_cvg_ok(cvg_idx_load(gz, &nd2, dims2, &b));
    assert_cvg_ok(cvg_npy_load(vals, &nv, vshape, &expect));
    assert_int_equal(nd, 3);
    assert_int_equal(nd2, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(dims[i], vshape[i]);
        assert_int_equal(dims2[i], vshape[i]);
    }
    for (int i = 0; i < 18; i++) {
        assert_int_equal(a[i], (int)expect[i]);
        assert_int_equal(b[i], (int)expect[i]);
    }
    free(a), free(b), free(expect), free(plain), free(gz), free(vals);
}

static void test_idx_malformed_corpus(void **state)
{
    (void)state;
    char *manifest = fixture("bad/expected.txt");
    FILE *fp = fopen(manifest, "r");
    assert_non_null(fp);
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#') continue;
        char *name = strtok(line, "\t"), *needle = strtok(NULL, "\t\n");
        assert_non_null(needle);
        char rel[300];
        snprintf(rel, sizeof rel, "bad/%s", name);
        char *path = fixture(rel);
        int nd;
        int64_t dims[CVG_NPY_MAX_DIMS];
        uint8_t *data = (uint8_t *)1;
        cvg_status st = cvg_idx_load(path, &nd, dims, &data);
        if (st == CVG_OK) fail_msg("%s: accepted", name);
        assert_null(data);
        if (!strstr(cvg_last_error(), needle) || !strstr(cvg_last_error(), name))
            fail_msg("%s: message '%s' lacks '%s' or the file name", name, cvg_last_error(), needle);
        free(path);
        cases++;
    }
    fclose(fp);
    free(manifest);
    assert_true(cases >= 10);
}

static void test_idx_missing(void **state)
{
    (void)state;
    int nd;
    int64_t dims[CVG_NPY_MAX_DIMS];
    uint8_t *data;
    assert_int_equal(cvg_idx_load("/no/such/file.idx", &nd, dims, &data), CVG_ERR_IO);
    assert_non_null(strstr(cvg_last_error(), "/no/such/file.idx"));
}

static void write_idx(const char *path, int nd, const uint32_t *dims, const uint8_t *data)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    unsigned char head[4] = {0, 0, 8, (unsigned char)nd};
    fwrite(head, 1, 4, fp);
    size_t n = 1;
    for (int i = 0; i < nd; i++) {
        unsigned char d[4] = {dims[i] >> 24, dims[i] >> 16, dims[i] >> 8, dims[i]};
        fwrite(d, 1, 4, fp);
        n *= dims[i];
    }
    fwrite(data, 1, n, fp);
    fclose(fp);
}

/* A dataset directory in the MNIST layout (plain IDX) of n random h x w images. */
static void write_dataset(const char *dir, const char *prefix, int n, int h, int w, uint64_t seed)
{
    uint8_t *pix = malloc((size_t)n * h * w), *lab = malloc((size_t)n);
    for (int i = 0; i < n * h * w; i++) pix[i] = (uint8_t)(test_rand_u64(&seed) & 0xff);
    for (int i = 0; i < n; i++) lab[i] = (uint8_t)(test_rand_u64(&seed) % 10);
    char name[64];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    char *p = test_path(dir, name);
    write_idx(p, 3, (uint32_t[]){(uint32_t)n, (uint32_t)h, (uint32_t)w}, pix);
    free(p);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    p = test_path(dir, name);
    write_idx(p, 1, (uint32_t[]){(uint32_t)n}, lab);
    free(p), free(pix), free(lab);
}

static void test_dataset(void **state)
{
    (void)state;
    char *dir = test_tmpdir("nn_dataset");
    write_dataset(dir, "train", 7, 5, 4, 1);
    cvg_dataset ds;
    assert_cvg_ok(cvg_dataset_load(dir, "train", 0, &ds));
    assert_int_equal(ds.count, 7);
    assert_int_equal(ds.height, 5);
    assert_int_equal(ds.width, 4);
    assert_int_equal(ds.channels, 1);
    /* the same bytes through the IDX reader: images are pixel / 255 */
    char *ip = test_path(dir, "train-images-idx3-ubyte");
    int nd;
    int64_t dims[CVG_NPY_MAX_DIMS];
    uint8_t *raw;
    assert_cvg_ok(cvg_idx_load(ip, &nd, dims, &raw));
    for (int i = 0; i < 7 * 20; i++) assert_true(ds.images[i] == (float)raw[i] / 255.0f);
    free(raw), free(ip);
    int maxl = 0;
    for (int i = 0; i < 7; i++) maxl = ds.labels[i] > maxl ? ds.labels[i] : maxl;
    assert_int_equal(ds.classes, maxl + 1);
    cvg_dataset_free(&ds);
    assert_cvg_ok(cvg_dataset_load(dir, "train", 3, &ds));
    assert_int_equal(ds.count, 3);
    cvg_dataset_free(&ds);
    /* no test split in this directory: the error names the file looked for */
    assert_int_equal(cvg_dataset_load(dir, "test", 0, &ds), CVG_ERR_IO);
    assert_non_null(strstr(cvg_last_error(), "t10k-images-idx3-ubyte"));
    assert_int_equal(cvg_dataset_load("/no/such/dir", "train", 0, &ds), CVG_ERR_IO);
    assert_non_null(strstr(cvg_last_error(), "/no/such/dir"));
    assert_int_equal(cvg_dataset_load(dir, "valid", 0, &ds), CVG_ERR_ARG);
    /* labels that do not match the images */
    char *lp = test_path(dir, "train-labels-idx1-ubyte");
    write_idx(lp, 1, (uint32_t[]){5}, (const uint8_t[]){1, 2, 3, 4, 5});
    assert_int_equal(cvg_dataset_load(dir, "train", 0, &ds), CVG_ERR_SHAPE);
    assert_non_null(strstr(cvg_last_error(), "labels"));
    free(lp), free(dir);
}

/* The installed Fashion-MNIST (Debian's dataset-fashion-mnist), when present. */
static void test_fashion_mnist(void **state)
{
    (void)state;
    cvg_dataset ds;
    if (cvg_dataset_load(NULL, "test", 0, &ds) != CVG_OK) {
        assert_non_null(strstr(cvg_last_error(), "dataset-fashion-mnist"));
        skip();
    }
    assert_int_equal(ds.count, 10000);
    assert_int_equal(ds.height, 28);
    assert_int_equal(ds.width, 28);
    assert_int_equal(ds.classes, 10);
    int counts[10] = {0};
    for (int i = 0; i < 10000; i++) counts[ds.labels[i]]++;
    for (int k = 0; k < 10; k++) assert_int_equal(counts[k], 1000); /* balanced test set */
    cvg_dataset_free(&ds);
}

/* ---- architecture descriptions */

static void test_arch(void **state)
{
    (void)state;
    const char *names[] = {"default", "small", "wide", "tiny", "paper"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        cvg_net *net, *again;
        assert_non_null(cvg_net_preset(names[i]));
        assert_cvg_ok(cvg_net_create(names[i], 1, 28, 28, 1, &net));
        assert_int_equal(cvg_net_layers(net), 8);
        const char *expect[] = {"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"};
        for (int l = 0; l < 8; l++) assert_string_equal(cvg_net_layer_name(net, l), expect[l]);
        /* the canonical text describes the same network */
        assert_cvg_ok(cvg_net_create(cvg_net_arch(net), 1, 28, 28, 1, &again));
        assert_string_equal(cvg_net_arch(net), cvg_net_arch(again));
        assert_int_equal(cvg_net_param_count(net), cvg_net_param_count(again));
        assert_memory_equal(net->params, again->params, (size_t)net->nparams * 4);
        cvg_net_free(net), cvg_net_free(again);
    }
    cvg_net *net;
    /* shapes and parameter counts worked by hand: 28 -k5p2-> 28 -pool3s2p1-> 14; 14 -k3s2p1-> 7
     * -pool2-> 3; fc from 5*3*3 */
    assert_cvg_ok(cvg_net_create(" conv1 : 4k5p2 , pool3s2p1 , lrn ; conv2:5k3s2p1,pool,drop0.25;"
                                 "fc3:6;fc4:10", 1, 28, 28, 1, &net));
    assert_string_equal(cvg_net_arch(net), "conv1:4k5s1p2,pool3s2p1,lrn5;conv2:5k3s2p1,drop0.25,"
                                           "pool2s2p0;fc3:6;fc4:10");
    int64_t sh[3];
    cvg_net_layer_shape(net, 0, sh);
    assert_true(sh[0] == 4 && sh[1] == 28 && sh[2] == 28);
    cvg_net_layer_shape(net, 1, sh);
    assert_true(sh[0] == 5 && sh[1] == 7 && sh[2] == 7);
    cvg_net_layer_shape(net, 2, sh);
    assert_true(sh[0] == 6 && sh[1] == 1 && sh[2] == 1);
    assert_int_equal(cvg_net_param_count(net), (4 * 25 + 4) + (5 * 4 * 9 + 5) + (6 * 45 + 6) + (10 * 6 + 10));
    assert_int_equal(cvg_net_layer_index(net, "fc3"), 2);
    assert_int_equal(cvg_net_layer_index(net, "fc9"), -1);
    cvg_net_free(net);

    /* the paper preset has AlexNet's widths: the parameters counted from them */
    assert_cvg_ok(cvg_net_create("paper", 1, 28, 28, 1, &net));
    const int64_t width[8] = {96, 256, 384, 384, 256, 4096, 4096, 10};
    const int64_t fan_in[8] = {1 * 25, 96 * 25, 256 * 9, 384 * 9, 384 * 9, 256 * 4 * 4, 4096, 4096};
    int64_t params = 0;
    for (int l = 0; l < 8; l++) {
        int64_t shape[3];
        cvg_net_layer_shape(net, l, shape);
        assert_int_equal(shape[0], width[l]);
        params += width[l] * fan_in[l] + width[l];
    }
    assert_int_equal(cvg_net_param_count(net), params); /* 37,318,346 */
    cvg_net_free(net);

    const char *bad[] = {
        "",                          "conv1",          "conv1:0k3;fc2:10",   "conv1:4k;fc2:10",
        "conv1:4k3x;fc2:10",         "pool1:4;fc2:10", "conv1:4k3,blah;fc2:10",
        "fc1:10;conv2:4k3;fc3:10",   "conv1:4k3;conv1:4k3;fc2:10",       "conv1:4k3;fc2:10,drop",
        "conv1:4k3,drop1.5;fc2:10",  "conv1:4k3,pool3p2;fc2:10",          "conv1:4k3;;fc2:10",
        "conv1:4k3,lrn0;fc2:10",     "conv1:4k3,lrn5a-1;fc2:10",         "conv 1:4k3;fc2:10x",
        "conv1:4k40;fc2:10",         "conv1:4k3,pool30;fc2:10",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cvg_status st = cvg_net_create(bad[i], 1, 28, 28, 1, &net);
        if (st == CVG_OK) fail_msg("accepted '%s' as %s", bad[i], cvg_net_arch(net));
        assert_null(net);
        assert_true(strlen(cvg_last_error()) > 10);
    }
}

/* The same seed gives the same weights; another seed other weights; He scale. */
static void test_init(void **state)
{
    (void)state;
    cvg_net *a, *b, *c;
    assert_cvg_ok(cvg_net_create("default", 1, 28, 28, 5, &a));
    assert_cvg_ok(cvg_net_create("default", 1, 28, 28, 5, &b));
    assert_cvg_ok(cvg_net_create("default", 1, 28, 28, 6, &c));
    assert_memory_equal(a->params, b->params, (size_t)a->nparams * 4);
    assert_true(memcmp(a->params, c->params, (size_t)a->nparams * 4) != 0);
    /* conv2's weights: std sqrt(2 / fan_in) within 3% (tens of thousands of draws) */
    const nn_layer *L = &a->L[1];
    double ss = 0;
    for (int64_t i = 0; i < L->nw; i++) ss += (double)L->w[i] * L->w[i];
    double std = sqrt(ss / (double)L->nw), expect = sqrt(2.0 / (double)(L->nw / L->width));
    assert_true(fabs(std / expect - 1) < 0.03);
    for (int64_t i = 0; i < L->nb; i++) assert_true(L->b[i] == 0.0f);
    cvg_net_free(a), cvg_net_free(b), cvg_net_free(c);
}

/* ---- the forward pass against PyTorch */

static void test_forward_matches_pytorch(void **state)
{
    (void)state;
    char *path = fixture("tiny.safetensors"), *inp = fixture("input.npy");
    cvg_net *net;
    assert_cvg_ok(cvg_net_load(path, &net));
    int nd;
    int64_t shape[CVG_NPY_MAX_DIMS];
    double *x64;
    assert_cvg_ok(cvg_npy_load(inp, &nd, shape, &x64));
    const int64_t n = shape[0], per = shape[1] * shape[2] * shape[3];
    float *x = malloc((size_t)(n * per) * sizeof *x);
    for (int64_t i = 0; i < n * per; i++) x[i] = (float)x64[i];
    assert_cvg_ok(cvg_net_forward(net, x, n));
    for (int l = 0; l < cvg_net_layers(net); l++) {
        const char *name = cvg_net_layer_name(net, l);
        char file[64];
        snprintf(file, sizeof file, "%s.npy", name);
        char *ep = fixture(file);
        int end;
        int64_t es[CVG_NPY_MAX_DIMS];
        double *expect;
        assert_cvg_ok(cvg_npy_load(ep, &end, es, &expect));
        int64_t ls[3];
        cvg_net_layer_shape(net, l, ls);
        int64_t count = n * ls[0] * ls[1] * ls[2], ecount = 1;
        for (int i = 0; i < end; i++) ecount *= es[i];
        assert_int_equal(count, ecount);
        assert_int_equal(es[0], n);
        assert_int_equal(es[1], ls[0]);
        float *got = malloc((size_t)count * sizeof *got);
        assert_cvg_ok(cvg_net_activation(net, l, got));
        /* float32 against float64: relative error ~1e-6 per operation, a few dozen in a row */
        double worst = 0;
        int nonzero = 0;
        for (int64_t i = 0; i < count; i++) {
            double err = fabs(got[i] - expect[i]) / (1e-5 + fabs(expect[i]));
            worst = err > worst ? err : worst;
            nonzero += expect[i] != 0;
        }
        if (worst > 1e-4) fail_msg("%s: relative error %g against PyTorch", name, worst);
        assert_true(nonzero > count / 10); /* the comparison is not vacuous */
        free(got), free(expect), free(ep);
    }
    /* LRN matters in this fixture: the same network without it gives other conv2 values */
    char *arch = strdup(cvg_net_arch(net));
    char *p = strstr(arch, ",lrn5a0.5b0.75k1");
    assert_non_null(p);
    memmove(p, p + strlen(",lrn5a0.5b0.75k1"), strlen(p + strlen(",lrn5a0.5b0.75k1")) + 1);
    cvg_net *plain;
    assert_cvg_ok(cvg_net_create(arch, 1, 16, 16, 1, &plain));
    memcpy(plain->params, net->params, (size_t)net->nparams * 4);
    assert_cvg_ok(cvg_net_forward(plain, x, n));
    float *a = malloc((size_t)(n * 6 * 4 * 4) * 4), *b = malloc((size_t)(n * 6 * 4 * 4) * 4);
    cvg_net_activation(net, 1, a);
    cvg_net_activation(plain, 1, b);
    double diff = 0;
    for (int64_t i = 0; i < n * 6 * 16; i++) diff += fabs(a[i] - b[i]);
    assert_true(diff > 1e-2 * n * 6 * 16 * 0.01);
    free(a), free(b), free(arch);
    cvg_net_free(plain);
    free(x), free(x64), free(path), free(inp);
    cvg_net_free(net);
}

/* ---- checkpoints */

/* The checkpoint `file` (size bytes, header length hl) written to path with its metadata's
 * "input" replaced (the header re-padded to a multiple of 8, the tensors unchanged). */
static void write_with_input(const char *path, const char *file, uint64_t hl, size_t size,
                             const char *input)
{
    cJSON *root = cJSON_ParseWithLength(file + 8, hl);
    assert_non_null(root);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "__metadata__"), "input", cJSON_CreateString(input));
    char *text = cJSON_PrintUnformatted(root);
    const size_t n = strlen(text), padded = (n + 7) / 8 * 8, data = size - 8 - (size_t)hl;
    unsigned char *out = malloc(8 + padded + data);
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(out + 8, text, n);
    memset(out + 8 + n, ' ', padded - n);
    memcpy(out + 8 + padded, file + 8 + hl, data);
    test_write_bytes(path, out, 8 + padded + data);
    free(out), free(text);
    cJSON_Delete(root);
}

static void test_checkpoint_roundtrip(void **state)
{
    (void)state;
    char *dir = test_tmpdir("nn_ckpt");
    char *path = test_path(dir, "net.safetensors");
    cvg_net *net, *back;
    assert_cvg_ok(cvg_net_create("tiny", 1, 28, 28, 3, &net));
    assert_cvg_ok(cvg_net_save(net, path));
    assert_cvg_ok(cvg_net_load(path, &back));
    assert_string_equal(cvg_net_arch(net), cvg_net_arch(back));
    assert_int_equal(net->nparams, back->nparams);
    assert_memory_equal(net->params, back->params, (size_t)net->nparams * 4);

    /* the layout, read independently: u64 LE header length (multiple of 8), JSON with F32
     * tensors whose offsets tile the data section, and the metadata */
    char *file;
    size_t size;
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    size = (size_t)ftell(fp);
    rewind(fp);
    file = malloc(size);
    assert_int_equal(fread(file, 1, size, fp), size);
    fclose(fp);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)(unsigned char)file[i] << (8 * i);
    assert_int_equal(hl % 8, 0);
    cJSON *root = cJSON_ParseWithLength(file + 8, hl);
    assert_non_null(root);
    const cJSON *md = cJSON_GetObjectItem(root, "__metadata__");
    assert_string_equal(cJSON_GetObjectItem(md, "arch")->valuestring, cvg_net_arch(net));
    const cJSON *w = cJSON_GetObjectItem(root, "conv2.weight");
    assert_string_equal(cJSON_GetObjectItem(w, "dtype")->valuestring, "F32");
    const cJSON *shape = cJSON_GetObjectItem(w, "shape");
    assert_int_equal(cJSON_GetArraySize(shape), 4);
    assert_int_equal(cJSON_GetArrayItem(shape, 0)->valueint, 6); /* OIHW: 6 x 4 x 3 x 3 */
    assert_int_equal(cJSON_GetArrayItem(shape, 1)->valueint, 4);
    int64_t total = 0, tensors = 0;
    for (const cJSON *t = root->child; t; t = t->next) {
        if (strcmp(t->string, "__metadata__") == 0) continue;
        const cJSON *off = cJSON_GetObjectItem(t, "data_offsets");
        total += (int64_t)(cJSON_GetArrayItem(off, 1)->valuedouble - cJSON_GetArrayItem(off, 0)->valuedouble);
        tensors++;
    }
    assert_int_equal(tensors, 16);
    assert_int_equal(total, (int64_t)(size - 8 - hl));
    assert_int_equal(total, net->nparams * 4);
    /* conv2.weight's first value sits where its offsets say */
    float first;
    memcpy(&first, file + 8 + hl + (size_t)cJSON_GetArrayItem(cJSON_GetObjectItem(w, "data_offsets"), 0)->valuedouble, 4);
    assert_true(first == net->L[1].w[0]);
    cJSON_Delete(root);

    /* broken files: each fails with a message naming the file */
    char *broken = test_path(dir, "broken.safetensors");
    size_t cuts[] = {0, 5, 8, 8 + (size_t)hl / 2, size - 4};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        test_write_bytes(broken, file, cuts[i]);
        cvg_net *b2 = NULL;
        if (cvg_net_load(broken, &b2) == CVG_OK) fail_msg("accepted a file cut at %zu bytes", cuts[i]);
        assert_null(b2);
        assert_non_null(strstr(cvg_last_error(), "broken.safetensors"));
    }
    /* input sizes that do not parse, or that would need more parameters than the file holds
     * (a corrupt header once asked for 43 GB before any tensor was read), are refused by
     * name; the same file with its own input loads */
    const struct { const char *input; cvg_status want; const char *says; } inputs[] = {
        {"1x28x99999999999999999999", CVG_ERR_FORMAT, "input"}, {"1x28x0", CVG_ERR_FORMAT, "input"},
        {"1x28x28x", CVG_ERR_FORMAT, "input"}, {"1x28x-28", CVG_ERR_FORMAT, "input"},
        {"1x2000x2000", CVG_ERR_SHAPE, "parameters"}, {"1x28x28", CVG_OK, NULL}};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        write_with_input(broken, file, hl, size, inputs[i].input);
        cvg_net *b2 = NULL;
        const cvg_status got = cvg_net_load(broken, &b2);
        if (got != inputs[i].want)
            fail_msg("input '%s': %s (%s)", inputs[i].input, cvg_strerror(got), cvg_last_error());
        if (got == CVG_OK) {
            assert_int_equal(b2->nparams, net->nparams);
            cvg_net_free(b2);
        } else {
            assert_null(b2);
            assert_non_null(strstr(cvg_last_error(), "broken.safetensors"));
            if (!strstr(cvg_last_error(), inputs[i].says))
                fail_msg("input '%s': '%s' does not say '%s'", inputs[i].input, cvg_last_error(), inputs[i].says);
        }
    }
    free(broken);
    free(file), free(path), free(dir);
    cvg_net_free(net), cvg_net_free(back);
}

/* ---- extraction */

static void test_extract(void **state)
{
    (void)state;
    char *dir = test_tmpdir("nn_extract");
    write_dataset(dir, "t10k", 300, 28, 28, 9); /* more than one extraction batch of 256 */
    cvg_dataset ds;
    assert_cvg_ok(cvg_dataset_load(dir, "test", 0, &ds));
    cvg_net *net;
    assert_cvg_ok(cvg_net_create("tiny", 1, 28, 28, 4, &net));
    const char *layers[] = {"conv2", "fc6"};
    for (int k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s.npy", layers[k]);
        char *path = test_path(dir, name);
        assert_cvg_ok(cvg_net_extract(net, &ds, layers[k], path, NULL, NULL));
        int nd;
        int64_t shape[CVG_NPY_MAX_DIMS];
        double *got;
        assert_cvg_ok(cvg_npy_load(path, &nd, shape, &got));
        int li = cvg_net_layer_index(net, layers[k]);
        int64_t ls[3];
        cvg_net_layer_shape(net, li, ls);
        assert_int_equal(nd, k == 0 ? 4 : 2);
        assert_int_equal(shape[0], 300);
        assert_int_equal(shape[1], ls[0]);
        if (k == 0) assert_true(shape[2] == ls[1] && shape[3] == ls[2]);
        /* the same as one forward pass over all 300 images at once */
        int64_t row = ls[0] * ls[1] * ls[2];
        float *expect = malloc((size_t)(300 * row) * sizeof *expect);
        assert_cvg_ok(cvg_net_forward(net, ds.images, 300));
        assert_cvg_ok(cvg_net_activation(net, li, expect));
        int negative = 0;
        for (int64_t i = 0; i < 300 * row; i++) {
            assert_true(fabs(got[i] - expect[i]) <= 1e-5 * (1 + fabs(expect[i])));
            negative += got[i] < 0;
        }
        assert_int_equal(negative, 0); /* after ReLU */
        free(expect), free(got), free(path);
    }
    char *path = test_path(dir, "x.npy");
    assert_int_equal(cvg_net_extract(net, &ds, "conv9", path, NULL, NULL), CVG_ERR_ARG);
    assert_non_null(strstr(cvg_last_error(), "conv9"));
    free(path);
    cvg_net_free(net);
    cvg_dataset_free(&ds);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_plain_and_gzip),
        cmocka_unit_test(test_idx_malformed_corpus),
        cmocka_unit_test(test_idx_missing),
        cmocka_unit_test(test_dataset),
        cmocka_unit_test(test_fashion_mnist),
        cmocka_unit_test(test_arch),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_forward_matches_pytorch),
        cmocka_unit_test(test_checkpoint_roundtrip),
        cmocka_unit_test(test_extract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
