#!/bin/bash
echo river > /workspace/answer.txt
