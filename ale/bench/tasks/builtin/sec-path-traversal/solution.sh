#!/bin/bash
cd /app
python3 - <<'PY'
s = open("static_server.py").read()
start = s.index("def serve(root, url_path):")
end = s.index("class Handler")
new = '''def serve(root, url_path):
    path = unquote(url_path, errors="strict") if "%" in url_path else url_path  # decode once
    if "\\x00" in path or "\\\\" in path:
        return 403, b"forbidden"
    segments = [s for s in path.split("/") if s]
    if ".." in segments:
        return 403, b"forbidden"
    if any(s.startswith(".") for s in segments):
        return 404, b"not found"
    real_root = os.path.realpath(root)
    full = os.path.realpath(os.path.join(real_root, *segments))
    # containment by path components, not by string prefix (/srv/www vs /srv/www-private)
    if os.path.commonpath([real_root, full]) != real_root:
        return 403, b"forbidden"
    if os.path.isdir(full):
        full = os.path.realpath(os.path.join(full, "index.html"))
        if os.path.commonpath([real_root, full]) != real_root:
            return 403, b"forbidden"
    if not os.path.isfile(full):
        return 404, b"not found"
    with open(full, "rb") as fh:
        return 200, fh.read()


'''
open("static_server.py", "w").write(s[:start] + new + s[end:])
PY
