#!/bin/bash
echo cloud > /workspace/answer.txt
