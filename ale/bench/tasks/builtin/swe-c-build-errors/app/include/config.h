#ifndef CONFIG_H
#define CONFIG_H
/* global settings shared by all modules */
int verbose = 0;
const char *prog_name = "wordfreq";
#endif
