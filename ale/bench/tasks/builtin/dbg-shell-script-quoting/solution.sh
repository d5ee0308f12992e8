#!/bin/bash
cat > /app/archive_logs.sh <<'SH'
#!/bin/bash
# usage: archive_logs.sh SRC_DIR DEST_DIR
# Moves every *.log file found (recursively) under SRC_DIR into DEST_DIR, keeping the path relative
# to SRC_DIR, then gzips it. Prints "archived N files" at the end. Exits 1 with a message on stderr
# if SRC_DIR is not a directory.
SRC=${1%/}
DEST=$2
if [ ! -d "$SRC" ]; then
    echo "not a directory: $SRC" >&2
    exit 1
fi
count=0
while IFS= read -r -d '' f; do
    rel=${f#"$SRC"/}
    mkdir -p -- "$DEST/$(dirname -- "$rel")"
    mv -- "$f" "$DEST/$rel"
    gzip -- "$DEST/$rel"
    count=$((count+1))
done < <(find "$SRC" -type f -name '*.log' -print0)
echo "archived $count files"
SH
