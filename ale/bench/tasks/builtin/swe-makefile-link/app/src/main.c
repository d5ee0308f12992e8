#include <stdio.h>
#include <stdlib.h>
#include "stats.h"

int main(void) {
    size_t cap = 16, n = 0;
    double *xs = malloc(cap * sizeof *xs), v;
    while (scanf("%lf", &v) == 1) {
        if (n == cap) xs = realloc(xs, (cap *= 2) * sizeof *xs);
        xs[n++] = v;
    }
    if (n == 0) { fprintf(stderr, "no input\n"); return 1; }
    printf("n=%zu mean=%.*f stddev=%.*f\n", n, STATS_PRECISION, stats_mean(xs, n),
           STATS_PRECISION, stats_stddev(xs, n));
    free(xs);
    return 0;
}
