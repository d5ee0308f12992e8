#!/bin/bash
echo stone > /workspace/answer.txt
