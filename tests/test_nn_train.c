/* Training: a run on 1,000 images drives the loss down; the same seed and thread count give
 * bit-identical weights, and other seeds other weights. (Resuming: test_nn_resume.c.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "test_support.h"
#include "nn/net_internal.h"

/* A small network with every kind of layer and op (the deep default structure needs more
 * steps than 1,000 images give to leave its initial plateau: PyTorch behaves the same); fast
 * also under ASan. */
#define ARCH "conv1:8k5p2,pool3s2p1,lrn5;conv2:12k3p1,pool3s2p1,lrn5;fc3:32,drop;fc4:10"

typedef struct history {
    double loss[16], acc[16];
    int n;
} history;

static int record(const cvg_epoch_report *r, void *user)
{
    history *h = user;
    h->loss[h->n] = r->train_loss;
    h->acc[h->n] = r->test_accuracy;
    h->n++;
    return 0;
}

static void test_loss_goes_down(void **state)
{
    (void)state;
    cvg_dataset train, test;
    int real = cvg_dataset_load(NULL, "train", 1000, &train) == CVG_OK &&
               cvg_dataset_load(NULL, "test", 500, &test) == CVG_OK;
    if (!real) {
        print_message("Fashion-MNIST not installed: synthetic images instead\n");
        test_synthetic_images(&train, 1000, 1);
        test_synthetic_images(&test, 500, 2);
    }
    cvg_train_options o;
    cvg_train_options_init(&o);
    o.epochs = 3;
    o.batch = 32;
    o.lr = 0.02;
    o.threads = 2;
    history h = {0};
    o.on_epoch = record;
    o.epoch_user = &h;
    cvg_net *net;
    assert_cvg_ok(cvg_train(ARCH, &train, &test, &o, &net));
    assert_int_equal(h.n, 3);
    print_message("loss by epoch %.3f %.3f %.3f, test accuracy %.3f\n", h.loss[0], h.loss[1],
                  h.loss[2], h.acc[2]);
    /* chance is log(10) = 2.30 and 10% */
    assert_true(h.loss[1] < h.loss[0] && h.loss[2] < h.loss[1]);
    assert_true(h.loss[2] < 0.85 * h.loss[0]);
    assert_true(h.acc[2] > 0.4);
    double acc;
    assert_cvg_ok(cvg_net_evaluate(net, &test, &acc, NULL));
    assert_true(acc == h.acc[2]);
    cvg_net_free(net);
    cvg_dataset_free(&train);
    cvg_dataset_free(&test);
}

static cvg_net *train_with(const cvg_dataset *ds, uint64_t seed, uint64_t data_seed, int threads)
{
    cvg_train_options o;
    cvg_train_options_init(&o);
    o.epochs = 2;
    o.seed = seed;
    o.data_seed = data_seed;
    o.threads = threads;
    cvg_net *net;
    assert_cvg_ok(cvg_train("tiny", ds, NULL, &o, &net));
    return net;
}

static void test_deterministic(void **state)
{
    (void)state;
    cvg_dataset ds;
    test_synthetic_images(&ds, 160, 3);
    for (int threads = 1; threads <= 2; threads++) {
        cvg_net *a = train_with(&ds, 1, 1, threads), *b = train_with(&ds, 1, 1, threads);
        assert_memory_equal(a->params, b->params, (size_t)a->nparams * 4);
        if (threads == 2) {
            cvg_net *c = train_with(&ds, 2, 1, threads), *d = train_with(&ds, 1, 2, threads);
            assert_true(memcmp(a->params, c->params, (size_t)a->nparams * 4) != 0);
            assert_true(memcmp(a->params, d->params, (size_t)a->nparams * 4) != 0);
            cvg_net_free(c), cvg_net_free(d);
        }
        cvg_net_free(a), cvg_net_free(b);
    }
    cvg_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_goes_down),
        cmocka_unit_test(test_deterministic),
    };
    if (getenv("CVG_TEST_FILTER")) cmocka_set_test_filter(getenv("CVG_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
