#!/bin/bash
cat > /usr/local/bin/rotate-logs <<'SH'
#!/bin/bash
dir=$1
keep=${2:-4}
if [ ! -d "$dir" ]; then
    echo "rotate-logs: not a directory: $dir" >&2
    exit 2
fi
shopt -s nullglob
for log in "$dir"/*.log; do
    [ -f "$log" ] && [ ! -L "$log" ] && [ -s "$log" ] || continue
    # drop everything that would end up beyond KEEP
    for old in "$log".*.gz; do
        n=${old#"$log".}; n=${n%.gz}
        [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge "$keep" ] && rm -f -- "$old"
    done
    for ((i = keep - 1; i >= 2; i--)); do
        [ -e "$log.$i.gz" ] && mv -f -- "$log.$i.gz" "$log.$((i + 1)).gz"
    done
    if [ -e "$log.1" ]; then
        if [ "$keep" -ge 2 ]; then
            gzip -c -- "$log.1" > "$log.2.gz" && rm -f -- "$log.1"
        else
            rm -f -- "$log.1"
        fi
    fi
    mv -- "$log" "$log.1"
    : > "$log"
    chown --reference="$log.1" -- "$log"
    chmod --reference="$log.1" -- "$log"
done
exit 0
SH
chmod 0755 /usr/local/bin/rotate-logs
/usr/local/bin/rotate-logs /var/log/myapp
