#!/bin/bash
set -e
cd /srv/release
{
  while read -r sum path; do
    if [ ! -e "$path" ]; then echo "MISSING $path"
    elif [ "$(sha256sum < "$path" | cut -d' ' -f1)" != "$sum" ]; then echo "MODIFIED $path"; fi
  done < SHA256SUMS
  find . -type f ! -name SHA256SUMS -printf '%P\n' | while read -r p; do
    awk '{print $2}' SHA256SUMS | grep -qxF "$p" || echo "UNLISTED $p"
  done
} | sort -k2 > /app/audit.txt
tmp=$(mktemp -d)
tar xzf /srv/backup/release-full.tar.gz -C "$tmp"
(cd "$tmp" && sha256sum -c --quiet SHA256SUMS)
grep -E '^(MODIFIED|MISSING) ' /app/audit.txt | while read -r st p; do
  mkdir -p "$(dirname "$p")"; cp -p "$tmp/$p" "$p"
done
grep '^UNLISTED ' /app/audit.txt | while read -r st p; do rm -f -- "$p"; done
rm -rf "$tmp"
sha256sum -c --quiet SHA256SUMS
