#!/bin/bash
cd /app
printf '%s\n' 'CC = gcc' 'CFLAGS = -O2 -Wall -Iinclude' 'LDLIBS = -lm' 'OBJS = build/main.o build/stats.o' '' \
  'all: bin/stats' '' 'bin/stats: $(OBJS)' '	mkdir -p bin' '	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)' '' \
  'build/%.o: src/%.c include/stats.h' '	mkdir -p build' '	$(CC) $(CFLAGS) -c $< -o $@' '' \
  'clean:' '	rm -rf build bin' '' '.PHONY: all clean' > Makefile
