#!/bin/bash
printf '%s\n' 'CC = gcc' 'CFLAGS = -O2 -Wall -Iinclude -MMD -MP' 'LDLIBS = -lm' '' \
  'OBJS = build/main.o build/stats.o' '' '.PHONY: all clean' '' 'all: bin/vecstat' '' \
  'bin/vecstat: $(OBJS)' '	mkdir -p bin' '	$(CC) -o $@ $(OBJS) $(LDLIBS)' '' \
  'build/%.o: src/%.c' '	mkdir -p build' '	$(CC) $(CFLAGS) -c $< -o $@' '' \
  'clean:' '	rm -rf build bin' '' '-include $(OBJS:.o=.d)' > /app/Makefile
cd /app && make
