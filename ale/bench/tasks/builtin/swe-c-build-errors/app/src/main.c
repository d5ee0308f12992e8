#include <stdio.h>
#include <stdlib.h>
#include "config.h"
#include "wordfreq.h"
#include "util.h"

int main(int argc, char **argv) {
    long top = argc > 1 ? atol(argv[1]) : 10;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, stdin);
    buf[n] = '\0';
    struct table t = {0};
    const char *p = buf;
    char *w;
    while ((w = next_word(&p)) != NULL) {
        table_add(&t, w);
        free(w);
    }
    table_sort(&t);
    for (size_t i = 0; i < t.len && (long)i < top; i++)
        printf("%ld %s\n", t.items[i].count, t.items[i].word);
    if (verbose) fprintf(stderr, "%s: %zu distinct words\n", prog_name, t.len);
    table_free(&t);
    return 0;
}
