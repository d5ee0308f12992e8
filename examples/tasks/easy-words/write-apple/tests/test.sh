#!/bin/bash
# passes iff /workspace/answer.txt holds exactly the word (surrounding whitespace ignored)
[ "$(tr -d '[:space:]' < /workspace/answer.txt 2>/dev/null)" = "apple" ]
