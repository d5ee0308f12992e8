#!/bin/bash
set -e
export LC_ALL=C
{
  find /srv/data -type f \( -name '*.tmp' -o -name '*.cache' \) -print
  find /srv/data/logs -type f \( -name '*.log' -o -name '*.log.1' -o -name '*.log.2.gz' \) ! -newermt '2023-07-01T00:00:00Z' -print
} | sort -u > /root/cleanup_report.txt
while IFS= read -r f; do rm -f -- "$f"; done < /root/cleanup_report.txt
find /srv/data -type f -size +1000000c ! -name '*.gz' -exec gzip -- {} \;
