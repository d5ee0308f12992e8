#include <stdlib.h>
#include <string.h>
#include "ht.h"

enum { EMPTY, LIVE, DEAD };
typedef struct { char *key; long value; int state; } slot;
struct ht { slot *slots; long cap, live, used; };

static unsigned long hash(const char *s) {
    unsigned long h = 1469598103934665603UL;
    while (*s) { h ^= (unsigned char)*s++; h *= 1099511628211UL; }
    return h;
}

ht *ht_new(void) {
    ht *t = calloc(1, sizeof *t);
    t->cap = 8;
    t->slots = calloc(t->cap, sizeof(slot));
    return t;
}

void ht_free(ht *t) {
    free(t->slots);
    free(t);
}

static void grow(ht *t) {
    slot *old = t->slots;
    long oldcap = t->cap;
    t->cap *= 2;
    t->slots = calloc(t->cap, sizeof(slot));
    t->used = t->live;
    for (long i = 0; i < oldcap; i++) {
        if (old[i].state != LIVE) continue;
        long j = hash(old[i].key) % oldcap;
        while (t->slots[j].state == LIVE) j = (j + 1) % t->cap;
        t->slots[j] = old[i];
    }
    free(old);
}

void ht_put(ht *t, const char *key, long value) {
    if ((t->used + 1) * 10 > t->cap * 7) grow(t);
    long j = hash(key) % t->cap;
    while (t->slots[j].state == LIVE) {
        if (strcmp(t->slots[j].key, key) == 0) { t->slots[j].value = value; return; }
        j = (j + 1) % t->cap;
    }
    if (t->slots[j].state == EMPTY) t->used++;
    t->slots[j].key = (char *)key;
    t->slots[j].value = value;
    t->slots[j].state = LIVE;
    t->live++;
}

int ht_get(const ht *t, const char *key, long *out) {
    long j = hash(key) % t->cap;
    while (t->slots[j].state != EMPTY) {
        if (t->slots[j].state == LIVE && strcmp(t->slots[j].key, key) == 0) { *out = t->slots[j].value; return 1; }
        j = (j + 1) % t->cap;
    }
    return 0;
}

int ht_del(ht *t, const char *key) {
    long j = hash(key) % t->cap;
    while (t->slots[j].state != EMPTY) {
        if (t->slots[j].state == LIVE && strcmp(t->slots[j].key, key) == 0) {
            t->slots[j].state = EMPTY;
            return 1;
        }
        j = (j + 1) % t->cap;
    }
    return 0;
}

long ht_count(const ht *t) { return t->live; }
