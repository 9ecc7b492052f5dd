/*
 * convergent: do different neural networks learn the same representations?
 *
 * The whole public API of libconvergent; each part can also be included on its own:
 * convergent_core.h (conventions, errors, files, .npy), convergent_analysis.h (statistics and
 * the analyses), convergent_nets.h (datasets, networks, training, taps), convergent_report.h.
 */
#ifndef CONVERGENT_H
#define CONVERGENT_H

#include "convergent_core.h"
#include "convergent_analysis.h"
#include "convergent_nets.h"
#include "convergent_report.h"

#endif /* CONVERGENT_H */
