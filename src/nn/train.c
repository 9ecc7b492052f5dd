/* Training: mini-batch SGD with momentum and weight decay, a learning-rate schedule, a
 * checkpoint (safetensors, with the momentum) and a JSON history after every epoch, resume.
 *
 * Everything random is a pure function of the seeds and the position in the run: the data order
 * of epoch e is a shuffle seeded by hash(data_seed, e); the dropout masks of batch t by
 * hash(seed, e, t, layer). Resuming from the checkpoint of epoch e therefore needs only the
 * weights and the momentum, and ends with the weights of an uninterrupted run (for the same
 * thread count: BLAS results may depend on it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <omp.h>

#include "core/internal.h"
#include "nn/net_internal.h"

void cvg_train_options_init(cvg_train_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->epochs = 8;
    opt->batch = 64;
    opt->lr = 0.02;
    opt->schedule = CVG_LR_COSINE;
    opt->lr_gamma = 0.1;
    opt->lr_step_epochs = 2;
    opt->momentum = 0.9;
    opt->weight_decay = 5e-4;
    opt->seed = 1;
    opt->data_seed = 1;
}

static const char *schedule_name(cvg_lr_schedule s)
{
    return s == CVG_LR_STEP ? "step" : s == CVG_LR_COSINE ? "cosine" : "constant";
}

/* Learning rate of batch t (0-based) of epoch e (0-based), T batches per epoch. */
static double learning_rate(const cvg_train_options *o, int e, int64_t t, int64_t T)
{
    switch (o->schedule) {
    case CVG_LR_STEP:
        return o->lr * pow(o->lr_gamma, (double)(e / (o->lr_step_epochs > 0 ? o->lr_step_epochs : 1)));
    case CVG_LR_COSINE: {
        double f = ((double)e * (double)T + (double)t) / ((double)o->epochs * (double)T);
        return o->lr * 0.5 * (1.0 + cos(3.14159265358979323846 * f));
    }
    default:
        return o->lr;
    }
}

/* PyTorch's SGD: g = grad + wd * w (weights only, not biases), v = mu * v + g, w -= lr * v. */
static void sgd_step(cvg_net *net, float *mom, double lr, double mu, double wd)
{
    for (int i = 0; i < net->nl; i++) {
        nn_layer *L = &net->L[i];
        for (int part = 0; part < 2; part++) {
            float *w = part ? L->b : L->w, *g = part ? L->gb : L->gw;
            float *v = mom + (w - net->params);
            const int64_t n = part ? L->nb : L->nw;
            const float decay = part ? 0.0f : (float)wd, m = (float)mu, r = (float)lr;
#pragma omp parallel for schedule(static) if (n > NN_PAR_MIN)
            for (int64_t j = 0; j < n; j++) {
                float gj = g[j] + decay * w[j];
                v[j] = m * v[j] + gj;
                w[j] -= r * v[j];
            }
        }
    }
}

/* The order of the training images in epoch e: Fisher-Yates from hash(data_seed, e). */
static void epoch_order(int64_t *idx, int64_t n, uint64_t data_seed, int e)
{
    cvg__rng r;
    cvg__rng_seed(&r, cvg__hash64(data_seed, (uint64_t)e));
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(cvg__rng_next(&r) % (uint64_t)(i + 1));
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The settings a resumed run must share with the checkpoint, as metadata strings. */
typedef struct settings {
    char epochs[32], batch[32], lr[64], schedule[16], gamma[64], step[32], momentum[64],
        decay[64], seed[32], data_seed[32], train_count[32];
} settings;

static void fill_settings(settings *s, const cvg_train_options *o, int64_t train_count)
{
    snprintf(s->epochs, sizeof s->epochs, "%d", o->epochs);
    snprintf(s->batch, sizeof s->batch, "%d", o->batch);
    snprintf(s->lr, sizeof s->lr, "%.17g", o->lr);
    snprintf(s->schedule, sizeof s->schedule, "%s", schedule_name(o->schedule));
    snprintf(s->gamma, sizeof s->gamma, "%.17g", o->lr_gamma);
    snprintf(s->step, sizeof s->step, "%d", o->lr_step_epochs);
    snprintf(s->momentum, sizeof s->momentum, "%.17g", o->momentum);
    snprintf(s->decay, sizeof s->decay, "%.17g", o->weight_decay);
    snprintf(s->seed, sizeof s->seed, "%llu", (unsigned long long)o->seed);
    snprintf(s->data_seed, sizeof s->data_seed, "%llu", (unsigned long long)o->data_seed);
    snprintf(s->train_count, sizeof s->train_count, "%lld", (long long)train_count);
}

#define N_SETTINGS 11
static void settings_pairs(const settings *s, const char *pairs[2 * N_SETTINGS])
{
    const char *keys[N_SETTINGS] = {"epochs", "batch", "lr", "schedule", "lr_gamma",
                                    "lr_step_epochs", "momentum", "weight_decay", "seed",
                                    "data_seed", "train_images"};
    const char *vals[N_SETTINGS] = {s->epochs, s->batch, s->lr, s->schedule, s->gamma, s->step,
                                    s->momentum, s->decay, s->seed, s->data_seed, s->train_count};
    for (int i = 0; i < N_SETTINGS; i++) pairs[2 * i] = keys[i], pairs[2 * i + 1] = vals[i];
}

static cJSON *report_json(const cvg_epoch_report *r)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "epoch", r->epoch);
    cJSON_AddNumberToObject(e, "train_loss", r->train_loss);
    if (r->test_accuracy >= 0) cJSON_AddNumberToObject(e, "test_accuracy", r->test_accuracy);
    else cJSON_AddNullToObject(e, "test_accuracy");
    cJSON_AddNumberToObject(e, "lr", r->lr);
    cJSON_AddNumberToObject(e, "seconds", r->seconds);
    return e;
}

static cvg_status write_history(const char *path, const cvg_net *net, const settings *s,
                                const cJSON *epochs)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "arch", net->arch);
    char input[64];
    snprintf(input, sizeof input, "%dx%dx%d", net->in_c, net->in_h, net->in_w);
    cJSON_AddStringToObject(j, "input", input);
    const char *pairs[2 * N_SETTINGS];
    settings_pairs(s, pairs);
    for (int i = 0; i < N_SETTINGS; i++) {
        /* numbers as JSON numbers (the checkpoint's metadata must keep strings) */
        char *end;
        double v = strtod(pairs[2 * i + 1], &end);
        if (*pairs[2 * i + 1] && !*end) cJSON_AddNumberToObject(j, pairs[2 * i], v);
        else cJSON_AddStringToObject(j, pairs[2 * i], pairs[2 * i + 1]);
    }
    cJSON_AddItemToObject(j, "history", cJSON_Duplicate(epochs, 1));
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* cJSON_Print leaves room for the NUL only: rewrite it as newline */
    cvg_status st = cvg_write_file_atomic(path, text, len + 1);
    free(text);
    return st;
}

static cvg_status save_checkpoint(const char *path, const cvg_net *net, const float *mom,
                                  const settings *s, int epoch, const cJSON *epochs)
{
    char ep[32];
    snprintf(ep, sizeof ep, "%d", epoch);
    char *hist = cJSON_PrintUnformatted(epochs);
    if (!hist) return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory", path);
    const char *meta[2 * N_SETTINGS + 8];
    settings_pairs(s, meta);
    int k = 2 * N_SETTINGS;
    meta[k++] = "epoch", meta[k++] = ep;
    meta[k++] = "optimizer", meta[k++] = "sgd-momentum: tensors <name>.momentum";
    meta[k++] = "history", meta[k++] = hist;
    meta[k] = NULL;
    cvg_status st = nn_checkpoint_save(net, mom, meta, path);
    free(hist);
    return st;
}

/* Load a checkpoint to resume: same architecture and settings, or an error naming the first
 * difference. */
static cvg_status load_resume(const char *path, const cvg_net *fresh, const settings *s,
                              cvg_net **net, float **mom, int *epoch, cJSON **epochs)
{
    cJSON *meta = NULL;
    cvg_status st = nn_checkpoint_load(path, net, mom, &meta);
    if (st != CVG_OK) return st;
    if (strcmp((*net)->arch, fresh->arch) != 0 || (*net)->in_c != fresh->in_c ||
        (*net)->in_h != fresh->in_h || (*net)->in_w != fresh->in_w) {
        st = cvg__fail(CVG_ERR_ARG, "%s: cannot resume: the checkpoint's architecture %s differs "
                       "from %s", path, (*net)->arch, fresh->arch);
        goto done;
    }
    const char *pairs[2 * N_SETTINGS];
    settings_pairs(s, pairs);
    for (int i = 0; i < N_SETTINGS; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, pairs[2 * i]);
        if (!cJSON_IsString(v) || strcmp(v->valuestring, pairs[2 * i + 1]) != 0) {
            st = cvg__fail(CVG_ERR_ARG, "%s: cannot resume: %s is %s in the checkpoint, %s now",
                           path, pairs[2 * i], cJSON_IsString(v) ? v->valuestring : "(missing)",
                           pairs[2 * i + 1]);
            goto done;
        }
    }
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(meta, "epoch");
    const cJSON *hist = cJSON_GetObjectItemCaseSensitive(meta, "history");
    if (!*mom || !cJSON_IsString(ep) || !cJSON_IsString(hist) ||
        !(*epochs = cJSON_Parse(hist->valuestring)) || !cJSON_IsArray(*epochs)) {
        st = cvg__fail(CVG_ERR_FORMAT, "%s: cannot resume: not a training checkpoint (no "
                       "momentum, epoch or history)", path);
        goto done;
    }
    *epoch = atoi(ep->valuestring);
    if (*epoch < 0 || *epoch > atoi(s->epochs))
        st = cvg__fail(CVG_ERR_FORMAT, "%s: bad epoch %s", path, ep->valuestring);
done:
    cJSON_Delete(meta);
    if (st != CVG_OK) {
        cvg_net_free(*net);
        *net = NULL;
        free(*mom);
        *mom = NULL;
        cJSON_Delete(*epochs);
        *epochs = NULL;
    }
    return st;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

cvg_status cvg_train(const char *arch, const cvg_dataset *train, const cvg_dataset *test,
                     const cvg_train_options *opt, cvg_net **out)
{
    if (out) *out = NULL;
    cvg_train_options defaults;
    if (!opt) {
        cvg_train_options_init(&defaults);
        opt = &defaults;
    }
    if (!train || train->count < 1 || !train->images || !train->labels)
        return cvg__fail(CVG_ERR_EMPTY, "cvg_train: no training images");
    if (opt->epochs < 1 || opt->batch < 1 || !(opt->lr > 0) || opt->momentum < 0 ||
        opt->weight_decay < 0 || (opt->schedule == CVG_LR_STEP && opt->lr_step_epochs < 1))
        return cvg__fail(CVG_ERR_ARG, "cvg_train: epochs, batch, lr must be positive, momentum "
                         "and weight decay non-negative");
    if (cvg__check_threads(opt->threads, "cvg_train") != CVG_OK) return CVG_ERR_ARG;
    if (opt->resume && !opt->checkpoint)
        return cvg__fail(CVG_ERR_ARG, "cvg_train: resume needs a checkpoint path");
    int saved_threads = omp_get_max_threads();
    if (opt->threads > 0) omp_set_num_threads(opt->threads);

    settings s;
    fill_settings(&s, opt, train->count);
    cvg_net *net = NULL;
    float *mom = NULL;
    int64_t *order = NULL;
    cJSON *epochs = NULL;
    int start = 0;
    cvg_status st = cvg_net_create(arch, train->channels, train->height, train->width, opt->seed, &net);
    if (st != CVG_OK) goto done;
    const nn_layer *last = &net->L[net->nl - 1];
    if (train->classes > last->width || (test && test->classes > last->width)) {
        st = cvg__fail(CVG_ERR_SHAPE, "the data has %d classes, the last layer (%s) %d outputs",
                       train->classes, last->name, last->width);
        goto done;
    }
    if (opt->resume && file_exists(opt->checkpoint)) {
        cvg_net *loaded;
        st = load_resume(opt->checkpoint, net, &s, &loaded, &mom, &start, &epochs);
        if (st != CVG_OK) goto done;
        cvg_net_free(net);
        net = loaded;
        last = &net->L[net->nl - 1];
        cvg__log(CVG_LOG_INFO, "%s: resuming after epoch %d", opt->checkpoint, start);
    } else {
        mom = cvg__calloc((size_t)net->nparams, sizeof(float), "momentum");
        epochs = cJSON_CreateArray();
        if (!mom || !epochs) {
            st = CVG_ERR_NOMEM;
            goto done;
        }
    }
    const int B = opt->batch;
    const int64_t N = train->count, T = (N + B - 1) / B;
    const int64_t per = (int64_t)train->channels * train->height * train->width;
    order = cvg__malloc((size_t)N * sizeof *order, "the data order");
    float *batch = cvg__malloc((size_t)(B * per) * sizeof *batch, "a batch");
    uint8_t *labels = cvg__malloc((size_t)B, "labels");
    if (!order || !batch || !labels || (st = nn_net_reserve(net, B)) != CVG_OK) {
        free(batch);
        free(labels);
        if (st == CVG_OK) st = CVG_ERR_NOMEM;
        goto done;
    }
    for (int e = start; e < opt->epochs && st == CVG_OK; e++) {
        double t0 = now_seconds(), loss_sum = 0, lr = opt->lr;
        epoch_order(order, N, opt->data_seed, e);
        char task[64];
        snprintf(task, sizeof task, "epoch %d/%d", e + 1, opt->epochs);
        for (int64_t t = 0; t < T; t++) {
            int b = (int)(N - t * B < B ? N - t * B : B);
            for (int i = 0; i < b; i++) {
                int64_t k = order[t * B + i];
                memcpy(batch + i * per, train->images + k * per, (size_t)per * sizeof *batch);
                labels[i] = train->labels[k];
            }
            uint64_t key = cvg__hash64(cvg__hash64(opt->seed, (uint64_t)e + 1), (uint64_t)t);
            nn_net_forward(net, batch, b, 1, key);
            double l = nn_softmax_xent(last->dout, NULL, last->act, labels, last->width, b);
            loss_sum += l / b;
            if (!isfinite(l)) {
                st = cvg__fail(CVG_ERR_NONFINITE, "training diverged in epoch %d batch %lld (loss "
                               "%g): lower the learning rate", e + 1, (long long)t + 1, l);
                break;
            }
            nn_net_backward(net, 1);
            lr = learning_rate(opt, e, t, T);
            sgd_step(net, mom, lr, opt->momentum, opt->weight_decay);
            if (opt->progress && opt->progress(task, (uint64_t)t + 1, (uint64_t)T, opt->progress_user)) {
                st = cvg__fail(CVG_ERR_CANCELLED, "training cancelled");
                break;
            }
        }
        if (st != CVG_OK) break;
        cvg_epoch_report r = {e + 1, opt->epochs, loss_sum / (double)T, -1, lr, 0};
        if (test && (st = cvg_net_evaluate(net, test, &r.test_accuracy, NULL)) != CVG_OK) break;
        r.seconds = now_seconds() - t0;
        cJSON_AddItemToArray(epochs, report_json(&r));
        if (opt->checkpoint && (st = save_checkpoint(opt->checkpoint, net, mom, &s, e + 1, epochs)) != CVG_OK)
            break;
        if (opt->history && (st = write_history(opt->history, net, &s, epochs)) != CVG_OK) break;
        if (opt->on_epoch && opt->on_epoch(&r, opt->epoch_user)) {
            st = cvg__fail(CVG_ERR_CANCELLED, "training stopped after epoch %d", e + 1);
            break;
        }
    }
    free(batch);
    free(labels);
done:
    if (opt->threads > 0) omp_set_num_threads(saved_threads);
    free(order);
    free(mom);
    cJSON_Delete(epochs);
    if (st == CVG_OK && out) *out = net;
    else cvg_net_free(net);
    return st;
}
