/* Resuming: after a stop, or after `kill -9` of `convergent train`, a resumed run ends with
 * exactly the weights of an uninterrupted run (same thread count); the history keeps every
 * epoch; other settings refuse to resume. Also `convergent extract` end to end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "test_support.h"
#include "nn/net_internal.h"

static int stop_after_first(const cvg_epoch_report *r, void *user)
{
    (void)user;
    return r->epoch >= 1;
}

static void test_resume_after_stop(void **state)
{
    (void)state;
    char *dir = test_tmpdir("nn_resume");
    char *full = test_path(dir, "full.safetensors"), *part = test_path(dir, "part.safetensors");
    char *hist = test_path(dir, "part.json");
    cvg_dataset ds;
    test_synthetic_images(&ds, 300, 4);
    cvg_train_options o;
    cvg_train_options_init(&o);
    o.epochs = 3;
    o.threads = 2;
    o.schedule = CVG_LR_COSINE; /* depends on the position in the whole run */
    o.checkpoint = full;
    cvg_net *a, *b;
    assert_cvg_ok(cvg_train("tiny", &ds, NULL, &o, &a));
    o.checkpoint = part;
    o.history = hist;
    o.on_epoch = stop_after_first;
    assert_int_equal(cvg_train("tiny", &ds, NULL, &o, NULL), CVG_ERR_CANCELLED);
    o.on_epoch = NULL;
    o.resume = 1;
    assert_cvg_ok(cvg_train("tiny", &ds, NULL, &o, &b));
    assert_memory_equal(a->params, b->params, (size_t)a->nparams * 4);
    /* and from the files */
    cvg_net *fa, *fb;
    assert_cvg_ok(cvg_net_load(full, &fa));
    assert_cvg_ok(cvg_net_load(part, &fb));
    assert_memory_equal(fa->params, a->params, (size_t)a->nparams * 4);
    assert_memory_equal(fb->params, a->params, (size_t)a->nparams * 4);
    /* the history holds all three epochs, the first from before the stop */
    char *text;
    size_t len;
    FILE *fp = fopen(hist, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    len = (size_t)ftell(fp);
    rewind(fp);
    text = calloc(1, len + 1);
    assert_int_equal(fread(text, 1, len, fp), len);
    fclose(fp);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "arch")->valuestring, cvg_net_arch(a));
    const cJSON *h = cJSON_GetObjectItem(j, "history");
    assert_int_equal(cJSON_GetArraySize(h), 3);
    for (int e = 0; e < 3; e++) {
        const cJSON *it = cJSON_GetArrayItem(h, e);
        assert_int_equal(cJSON_GetObjectItem(it, "epoch")->valueint, e + 1);
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(it, "train_loss")));
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(it, "seconds")));
    }
    cJSON_Delete(j);
    free(text);
    /* a different setting refuses to resume, naming it */
    o.lr = 0.5;
    assert_int_equal(cvg_train("tiny", &ds, NULL, &o, NULL), CVG_ERR_ARG);
    assert_non_null(strstr(cvg_last_error(), "lr"));
    cvg_net_free(a), cvg_net_free(b), cvg_net_free(fa), cvg_net_free(fb);
    cvg_dataset_free(&ds);
    free(full), free(part), free(hist), free(dir);
}

/* convergent train killed with SIGKILL as soon as its first checkpoint exists, then resumed:
 * the same weights as a run never interrupted. */
static void test_cli_kill_and_resume(void **state)
{
    (void)state;
    char *dir = test_tmpdir("nn_cli_resume");
    test_write_synthetic_dataset(dir, 200, 100, 5);
    const char *common = "--arch tiny --epochs 3 --threads 2 -q";
    assert_int_equal(test_system("'%s' train --data '%s' %s -o '%s/full.safetensors'", CVG_CLI,
                                 dir, common, dir), 0);
    /* start, wait for the first checkpoint, kill -9 */
    int rc = test_system("'%s' train --data '%s' %s -o '%s/part.safetensors' & pid=$!; "
                         "while [ ! -f '%s/part.safetensors' ] && kill -0 $pid 2>/dev/null; do "
                         "sleep 0.01; done; kill -9 $pid 2>/dev/null; wait $pid; exit 0",
                         CVG_CLI, dir, common, dir, dir);
    assert_int_equal(rc, 0);
    cvg_net *k;
    char *part = test_path(dir, "part.safetensors"), *full = test_path(dir, "full.safetensors");
    assert_cvg_ok(cvg_net_load(part, &k)); /* what the kill left is a whole checkpoint */
    cvg_net_free(k);
    assert_int_equal(test_system("'%s' train --data '%s' %s -o '%s/part.safetensors' --resume",
                                 CVG_CLI, dir, common, dir), 0);
    cvg_net *a, *b;
    assert_cvg_ok(cvg_net_load(full, &a));
    assert_cvg_ok(cvg_net_load(part, &b));
    assert_memory_equal(a->params, b->params, (size_t)a->nparams * 4);
    /* extract through the tool: a (N, C, H, W) float32 file */
    assert_int_equal(test_system("'%s' extract '%s' --data '%s' --layer conv3 -o '%s/conv3.npy' -q",
                                 CVG_CLI, full, dir, dir), 0);
    char *np = test_path(dir, "conv3.npy");
    cvg_npy *npy;
    assert_cvg_ok(cvg_npy_open(np, &npy));
    assert_int_equal(cvg_npy_ndim(npy), 4);
    assert_int_equal(cvg_npy_shape(npy)[0], 100);
    assert_int_equal(cvg_npy_shape(npy)[1], 8); /* tiny's conv3 */
    assert_string_equal(cvg_npy_descr(npy), "<f4");
    cvg_npy_free(npy);
    /* usage errors */
    assert_int_equal(test_system("'%s' train --epochs 0 -o x 2>/dev/null", CVG_CLI), 2);
    assert_int_equal(test_system("'%s' train --data /no/such/dir -o '%s/x.safetensors' 2>/dev/null",
                                 CVG_CLI, dir), 1);
    assert_int_equal(test_system("'%s' extract '%s' --data '%s' --layer conv9 -o '%s/x.npy' 2>/dev/null",
                                 CVG_CLI, full, dir, dir), 1);
    cvg_net_free(a), cvg_net_free(b);
    free(np), free(part), free(full), free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_after_stop),
        cmocka_unit_test(test_cli_kill_and_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
