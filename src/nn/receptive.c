/* The receptive field of a position of a layer: the box of input pixels it sees. */
#include "nn/net_internal.h"

/* Back through one window (kernel k, stride s, padding p): output range [lo, hi] -> input. */
static void back(int *lo, int *hi, int k, int s, int p)
{
    *lo = *lo * s - p;
    *hi = *hi * s - p + k - 1;
}

void cvg_net_receptive_field(const cvg_net *net, int layer, int y, int x, int box[4])
{
    int y0 = y, y1 = y, x0 = x, x1 = x, whole = 0;
    for (int i = layer; i >= 0 && !whole; i--) {
        const nn_layer *L = &net->L[i];
        if (i < layer && L->pool) { /* layer i's output seen by layer i+1 went through its pooling */
            back(&y0, &y1, L->pool_k, L->pool_s, L->pool_p);
            back(&x0, &x1, L->pool_k, L->pool_s, L->pool_p);
        }
        if (L->kind == NN_FC) whole = 1; /* a fully connected unit sees its whole input */
        else {
            back(&y0, &y1, L->K, L->S, L->P);
            back(&x0, &x1, L->K, L->S, L->P);
        }
    }
    if (whole) y0 = x0 = 0, y1 = net->in_h - 1, x1 = net->in_w - 1;
    box[0] = y0 < 0 ? 0 : y0;
    box[1] = x0 < 0 ? 0 : x0;
    box[2] = y1 >= net->in_h ? net->in_h - 1 : y1;
    box[3] = x1 >= net->in_w ? net->in_w - 1 : x1;
}
