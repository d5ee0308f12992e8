#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "util.h"

/* Returns the next lowercase word (letters, digits, apostrophes) of *p, or NULL at the end. */
char *next_word(const char **p) {
    const char *s = *p;
    while (*s && !(isalnum((unsigned char)*s) || *s == '\'')) s++;
    if (!*s) { *p = s; return NULL; }
    const char *start = s;
    while (*s && (isalnum((unsigned char)*s) || *s == '\'')) s++;
    char *w = strndup(start, (size_t)(s - start));
    for (char *c = w; *c; c++) *c = (char)tolower((unsigned char)*c);
    *p = s;
    return w;
}

void table_free(struct table *t) {
    for (size_t i = 0; i < t->len; i++) free(t->items[i].word);
    free(t->items);
}
