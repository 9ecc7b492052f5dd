/* Time of one training step (forward + loss gradient + backward, no SGD) and of one inference
 * batch of the engine alone, min and mean over repeats: a steadier figure than images per
 * second on a shared machine (the min is what the code costs when nothing else interferes).
 *   bench_train_step [THREADS] [REPEATS] [ARCH] [BATCH]
 * Fixed pseudo-random 28x28 images; used for the per-step figures in docs/training.md. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <omp.h>

#include "nn/net_internal.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of the process (all threads): on a machine shared with other jobs, a step's CPU time
 * moves much less than its wall time (time waiting for a core is not counted). */
static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const int T = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 40;
    const char *arch = argc > 3 ? argv[3] : "default";
    const int B = argc > 4 ? atoi(argv[4]) : 64;
    omp_set_num_threads(T);
    cvg_net *net;
    if (cvg_net_create(arch, 1, 28, 28, 1, &net) != CVG_OK || nn_net_reserve(net, B) != CVG_OK) {
        fprintf(stderr, "%s\n", cvg_last_error());
        return 1;
    }
    float *img = malloc((size_t)B * 784 * sizeof *img);
    uint8_t *lab = malloc((size_t)B);
    if (!img || !lab) return 1;
    for (int i = 0; i < B * 784; i++) img[i] = (float)(((uint32_t)i * 2654435761u) >> 24) / 255.0f;
    for (int i = 0; i < B; i++) lab[i] = (uint8_t)(i % 10);
    nn_layer *last = &net->L[net->nl - 1];
    double best = 1e9, best_inf = 1e9, sum = 0, best_cpu = 1e9, best_inf_cpu = 1e9;
    for (int r = 0; r < reps; r++) {
        double t0 = now(), c0 = cpu();
        nn_net_forward(net, img, B, 1, (uint64_t)r);
        nn_softmax_xent(last->dout, NULL, last->act, lab, last->width, B);
        nn_net_backward(net, 1);
        double t = now() - t0, c = cpu() - c0;
        best = t < best ? t : best;
        best_cpu = c < best_cpu ? c : best_cpu;
        sum += t;
        t0 = now(), c0 = cpu();
        nn_net_forward(net, img, B, 0, 0);
        t = now() - t0, c = cpu() - c0;
        best_inf = t < best_inf ? t : best_inf;
        best_inf_cpu = c < best_inf_cpu ? c : best_inf_cpu;
    }
    printf("threads %d, batch %d: train step min %.2f ms (mean %.2f; CPU time min %.2f ms), "
           "inference min %.2f ms (CPU time %.2f ms)\n", T, B, best * 1e3, sum / reps * 1e3, best_cpu * 1e3,
           best_inf * 1e3, best_inf_cpu * 1e3);
    free(img);
    free(lab);
    cvg_net_free(net);
    return 0;
}
