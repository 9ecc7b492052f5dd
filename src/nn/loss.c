/* Softmax cross-entropy on (K, B) logits. */
#include <math.h>

#include "nn/layers.h"

double nn_softmax_xent(float *dlogits, int *correct, const float *logits, const uint8_t *labels,
                       int K, int B)
{
    double total = 0;
    int right = 0;
    for (int n = 0; n < B; n++) {
        /* column n: logits[k * B + n]; log-sum-exp shifted by the maximum */
        int best = 0;
        float mx = logits[n];
        for (int k = 1; k < K; k++)
            if (logits[k * B + n] > mx) {
                mx = logits[k * B + n];
                best = k;
            }
        double sum = 0;
        for (int k = 0; k < K; k++) sum += exp((double)logits[k * B + n] - mx);
        double lse = mx + log(sum);
        int y = labels[n];
        total += lse - logits[y * B + n];
        right += best == y;
        if (dlogits)
            for (int k = 0; k < K; k++) {
                double pk = exp((double)logits[k * B + n] - lse);
                dlogits[k * B + n] = (float)((pk - (k == y)) / B);
            }
    }
    if (correct) *correct = right;
    return total;
}
