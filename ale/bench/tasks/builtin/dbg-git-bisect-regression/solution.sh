#!/bin/bash
set -e
cd /app/timekit
cat > /tmp/probe.sh <<'SH'
#!/bin/bash
python3 -c 'import timekit; assert timekit.parse_duration("45s") == 45 and timekit.parse_duration("1h30m") == 5400'
SH
first=$(git rev-list --max-parents=0 HEAD)
git bisect start HEAD "$first" >/dev/null
git bisect run bash /tmp/probe.sh > /tmp/bisect.log
git rev-parse refs/bisect/bad > /app/first_bad_commit.txt
git bisect reset >/dev/null 2>&1
sed -i 's/_TOKEN = re.compile(r"(\\d)/_TOKEN = re.compile(r"(\\d+)/' timekit.py
bash /tmp/probe.sh
git -c user.name=fixer -c user.email=fixer@example.com commit -qam "fix multi-digit parsing regression"
