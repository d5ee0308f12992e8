#!/bin/bash
set -e
cd /app
# 1. globals defined in a header -> multiple definitions: declare extern, define once
cat > include/config.h <<'H'
#ifndef CONFIG_H
#define CONFIG_H
/* global settings shared by all modules (defined in src/config.c) */
extern int verbose;
extern const char *prog_name;
#endif
H
cat > src/config.c <<'C'
#include "config.h"
int verbose = 0;
const char *prog_name = "wordfreq";
C
# 2. wordfreq.h has no include guard -> struct redefinition when included twice
{ echo '#ifndef WORDFREQ_H'; echo '#define WORDFREQ_H'; cat include/wordfreq.h; echo '#endif'; } > /tmp/wf.h
mv /tmp/wf.h include/wordfreq.h
# 3. strdup/strndup are POSIX, hidden by -std=c11: request them before any system header
for f in src/table.c src/util.c; do
  sed -i '1i #define _POSIX_C_SOURCE 200809L' "$f"
done
sed -i 's#^SRCS = src/main.c src/table.c src/util.c$#SRCS = src/main.c src/table.c src/util.c src/config.c#' Makefile
make
