#ifndef UTIL_H
#define UTIL_H
#include "wordfreq.h"
char *next_word(const char **p);
void table_free(struct table *t);
#endif
