#!/bin/bash
cd /app 2>/dev/null; python3 -m pytest /tests/test_outputs.py -rA -p no:cacheprovider
