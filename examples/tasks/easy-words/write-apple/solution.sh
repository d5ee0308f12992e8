#!/bin/bash
echo apple > /workspace/answer.txt
