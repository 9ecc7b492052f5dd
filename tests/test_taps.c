/* Activation taps against the file path: `stats --nets` (networks run over images, every layer
 * streamed into the statistics) equals `extract` (activations to .npy) followed by `stats` on
 * the files, layer by layer; the kept top-9 activations per unit equal a sort of the extracted
 * activations; receptive fields compose the layers' windows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

static double *load(const char *dir, const char *layer, const char *file, int64_t *n, int64_t *shape)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s/%s", dir, layer, file);
    int nd;
    int64_t sh[CVG_NPY_MAX_DIMS];
    double *d;
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &d));
    *n = 1;
    for (int i = 0; i < nd; i++) *n *= sh[i];
    if (shape) memcpy(shape, sh, sizeof sh);
    return d;
}

static void test_taps_equal_file_path(void **state)
{
    (void)state;
    char *dir = test_tmpdir("taps");
    char ck[2][1024];
    for (int k = 0; k < 2; k++) {
        cvg_net *net;
        assert_cvg_ok(cvg_net_create("tiny", 1, 28, 28, 11 + k, &net));
        snprintf(ck[k], sizeof ck[k], "%s/net%d.safetensors", dir, k + 1);
        assert_cvg_ok(cvg_net_save(net, ck[k]));
        cvg_net_free(net);
    }
    assert_int_equal(test_system("%s stats -q --nets -o %s/taps --limit 40 --reservoir 100 %s %s",
                                 CVG_CLI, dir, ck[0], ck[1]), 0);
    const char *layers[] = {"conv1", "conv2", "conv5", "fc6", "fc8"};
    for (size_t l = 0; l < sizeof layers / sizeof *layers; l++) {
        for (int k = 0; k < 2; k++)
            assert_int_equal(test_system("%s extract %s --layer %s --limit 40 -o %s/%s_%d.npy > /dev/null",
                                         CVG_CLI, ck[k], layers[l], dir, layers[l], k + 1), 0);
        assert_int_equal(test_system("%s stats -q -o %s/files --layer %s %s/%s_1.npy %s/%s_2.npy",
                                     CVG_CLI, dir, layers[l], dir, layers[l], dir, layers[l]), 0);
        char taps[1024], files[1024];
        snprintf(taps, sizeof taps, "%s/taps", dir);
        snprintf(files, sizeof files, "%s/files", dir);
        int64_t n1, n2;
        double *a = load(taps, layers[l], "corr.npy", &n1, NULL), *b = load(files, layers[l], "corr.npy", &n2, NULL);
        assert_int_equal(n1, n2);
        for (int64_t i = 0; i < n1; i++)
            if (fabs(a[i] - b[i]) > 1e-6) fail_msg("%s corr[%lld]: taps %.9f, files %.9f", layers[l], (long long)i, a[i], b[i]);
        free(a), free(b);
        a = load(taps, layers[l], "mean.npy", &n1, NULL), b = load(files, layers[l], "mean.npy", &n2, NULL);
        for (int64_t i = 0; i < n1; i++) assert_true(fabs(a[i] - b[i]) <= 1e-9 * fmax(1, fabs(b[i])));
        free(a), free(b);

        /* top-9 of net 1's first unit: the 9 largest of the extracted activations */
        char path[2048];
        snprintf(path, sizeof path, "%s/%s_1.npy", dir, layers[l]);
        int nd;
        int64_t sh[CVG_NPY_MAX_DIMS], nt, tshape[CVG_NPY_MAX_DIMS];
        double *act;
        assert_cvg_ok(cvg_npy_load(path, &nd, sh, &act));
        const int64_t C = sh[1], Q = nd == 4 ? sh[2] * sh[3] : 1;
        double *val = load(taps, layers[l], "top9_value.npy", &nt, NULL);
        double *where = load(taps, layers[l], "top9.npy", &nt, tshape);
        assert_int_equal(tshape[1], CVG_TOP_K);
        for (int e = 0; e < CVG_TOP_K; e++) {
            const double *w = where + e * 7;
            double v = act[((int64_t)w[0] * C + 0) * Q + (nd == 4 ? (int64_t)w[1] * sh[3] + (int64_t)w[2] : 0)];
            assert_true(fabs(v - val[e]) < 1e-6);               /* the recorded value is there */
            if (e) assert_true(val[e] <= val[e - 1]);          /* decreasing */
        }
        int64_t above = 0; /* no activation of unit 0 beats the 9th */
        for (int64_t img = 0; img < sh[0]; img++)
            for (int64_t q = 0; q < Q; q++) above += act[(img * C) * Q + q] > val[CVG_TOP_K - 1] + 1e-6;
        assert_true(above <= CVG_TOP_K - 1);
        free(act), free(val), free(where);
    }
    /* receptive fields: tiny = conv1 k3p1, pool2, conv2 k3p1, ... */
    cvg_net *net;
    assert_cvg_ok(cvg_net_load(ck[0], &net));
    int box[4];
    cvg_net_receptive_field(net, 0, 10, 0, box);
    assert_true(box[0] == 9 && box[1] == 0 && box[2] == 11 && box[3] == 1);
    cvg_net_receptive_field(net, 1, 12, 2, box); /* [11,13] -> pool [22,27] -> conv1 [21,28] */
    assert_true(box[0] == 21 && box[1] == 1 && box[2] == 27 && box[3] == 8);
    cvg_net_receptive_field(net, cvg_net_layer_index(net, "fc6"), 0, 0, box);
    assert_true(box[0] == 0 && box[1] == 0 && box[2] == 27 && box[3] == 27);
    cvg_net_free(net);
    free(dir);
}

/* --conv-samples mean and flatten with --nets: the taps make the samples the file pass makes
 * of the extracted activations (whose numbers tests/python/test_conv_samples.py checks against
 * numpy), and record the mode in meta.json; fc layers are unaffected. */
static void test_taps_conv_samples(void **state)
{
    (void)state;
    char *dir = test_tmpdir("taps_conv");
    char ck[2][1024];
    for (int k = 0; k < 2; k++) {
        cvg_net *net;
        assert_cvg_ok(cvg_net_create("tiny", 1, 28, 28, 21 + k, &net));
        snprintf(ck[k], sizeof ck[k], "%s/net%d.safetensors", dir, k + 1);
        assert_cvg_ok(cvg_net_save(net, ck[k]));
        cvg_net_free(net);
    }
    const char *modes[] = {"mean", "flatten"};
    for (int k = 0; k < 2; k++)
        assert_int_equal(test_system("%s extract %s --layer conv2 --limit 30 -o %s/conv2_%d.npy > /dev/null",
                                     CVG_CLI, ck[k], dir, k + 1), 0);
    for (int m = 0; m < 2; m++) {
        assert_int_equal(test_system("%s stats -q --nets --conv-samples %s -o %s/taps_%s --limit 30 "
                                     "--reservoir 0 %s %s", CVG_CLI, modes[m], dir, modes[m], ck[0], ck[1]), 0);
        assert_int_equal(test_system("%s stats -q --conv-samples %s -o %s/files_%s --layer conv2 --reservoir 0 "
                                     "%s/conv2_1.npy %s/conv2_2.npy", CVG_CLI, modes[m], dir, modes[m], dir, dir), 0);
        char taps[1024], files[1024];
        snprintf(taps, sizeof taps, "%s/taps_%s", dir, modes[m]);
        snprintf(files, sizeof files, "%s/files_%s", dir, modes[m]);
        int64_t n1, n2, sh1[CVG_NPY_MAX_DIMS], sh2[CVG_NPY_MAX_DIMS];
        double *a = load(taps, "conv2", "corr.npy", &n1, sh1), *b = load(files, "conv2", "corr.npy", &n2, sh2);
        assert_int_equal(n1, n2);
        assert_int_equal(sh1[0], sh2[0]);
        for (int64_t i = 0; i < n1; i++)
            if (fabs(a[i] - b[i]) > 1e-6) fail_msg("%s corr[%lld]: taps %.9f, files %.9f", modes[m], (long long)i, a[i], b[i]);
        free(a), free(b);
        a = load(taps, "conv2", "mean.npy", &n1, NULL), b = load(files, "conv2", "mean.npy", &n2, NULL);
        for (int64_t i = 0; i < n1; i++) assert_true(fabs(a[i] - b[i]) <= 1e-7 * fmax(1, fabs(b[i])));
        free(a), free(b);
        char path[1200], *text;
        snprintf(path, sizeof path, "%s/conv2/meta.json", taps);
        assert_cvg_ok(cvg_read_file(path, &text, NULL));
        char want[64];
        snprintf(want, sizeof want, "\"conv_samples\":\t\"%s\"", modes[m]);
        if (!strstr(text, want)) fail_msg("%s has no %s", path, want);
        assert_non_null(strstr(text, "\"samples\":\t30,")); /* one sample per image */
        cvg_free(text);
        snprintf(path, sizeof path, "%s/fc6/meta.json", taps);
        assert_cvg_ok(cvg_read_file(path, &text, NULL));
        assert_null(strstr(text, "conv_samples")); /* fc: one sample per image whatever the mode */
        cvg_free(text);
    }
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taps_equal_file_path),
        cmocka_unit_test(test_taps_conv_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
