#include <math.h>
#include "stats.h"

double stats_mean(const double *xs, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += xs[i];
    return s / n;
}

double stats_stddev(const double *xs, size_t n) {
    double m = stats_mean(xs, n), s = 0;
    for (size_t i = 0; i < n; i++) s += (xs[i] - m) * (xs[i] - m);
    return sqrt(s / n);
}
