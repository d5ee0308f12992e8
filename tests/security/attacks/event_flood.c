/* Attack (denial of service on the host): every denied syscall becomes an event the init sends to the host,
 * which parses it, keeps it in memory and appends it to the event log file. Make denied calls as fast as
 * possible: each costs the attacker microseconds and the host a frame, a JSON parse and a file write.
 * argv[1]: number of calls. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <time.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 20000, refused = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) refused += ptrace(PTRACE_TRACEME, 0, 0, 0) < 0;
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("BLOCKED: %ld of %ld ptrace calls refused in %.2f s (the host judges its own cost)\n", refused, n,
           (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
    printf("VERDICT: %s\n", refused == n ? "BLOCKED" : "ESCAPED");
    return refused != n;
}
