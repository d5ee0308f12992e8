#include <stdio.h>
#include <math.h>
#include "stats.h"

int main(void) {
    double xs[10000];
    int n = 0;
    while (n < 10000 && scanf("%lf", &xs[n]) == 1) n++;
    double m = mean(xs, n);
    double var = 0;
    for (int i = 0; i < n; i++) var += (xs[i] - m) * (xs[i] - m);
    printf("n=%d mean=%.3f median=%.3f sd=%.3f\n", n, m, median(xs, n), n ? sqrt(var / n) : 0.0);
    return 0;
}
