#!/bin/bash
set -e
cd /app/repo
KEY=$(git log --all -p | grep -o 'AKIA[0-9A-Z]\{16\}' | head -1)
SECRET=$(git log --all -p | sed -n 's/^+AWS_SECRET_ACCESS_KEY = "\([^"]*\)"$/\1/p' | head -1)
echo "$KEY" > /app/leaked_key_id.txt
export KEY SECRET
git -c user.name="Dana Dev" -c user.email=dana@example.com filter-branch -f \
  --tree-filter 'if [ -f config/settings.py ]; then sed -i "s#$KEY#REDACTED#g; s#$SECRET#REDACTED#g" config/settings.py; fi' \
  --tag-name-filter cat -- --all
git for-each-ref --format='%(refname)' refs/original | xargs -r -n1 git update-ref -d
git reflog expire --expire=now --all
git gc -q --prune=now
! git cat-file --batch-all-objects --batch | grep -q -e "$KEY" -e "$SECRET"
