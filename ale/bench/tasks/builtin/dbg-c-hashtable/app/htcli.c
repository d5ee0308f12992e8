/* Reads commands from stdin, one per line:  put KEY VALUE | get KEY | del KEY | count
 * and prints: get -> the value or "missing"; del -> "deleted" or "missing"; count -> the count.
 * put prints nothing. Keys are non-empty strings without whitespace (up to 200 characters). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ht.h"

int main(void) {
    ht *t = ht_new();
    char line[512], cmd[16], key[256];
    long v;
    while (fgets(line, sizeof line, stdin)) {
        int n = sscanf(line, "%15s %255s %ld", cmd, key, &v);
        if (n >= 1 && strcmp(cmd, "count") == 0) printf("%ld\n", ht_count(t));
        else if (n == 3 && strcmp(cmd, "put") == 0) ht_put(t, key, v);
        else if (n == 2 && strcmp(cmd, "get") == 0) {
            if (ht_get(t, key, &v)) printf("%ld\n", v); else puts("missing");
        } else if (n == 2 && strcmp(cmd, "del") == 0) puts(ht_del(t, key) ? "deleted" : "missing");
    }
    ht_free(t);
    return 0;
}
