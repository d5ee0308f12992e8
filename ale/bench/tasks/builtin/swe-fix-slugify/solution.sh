#!/bin/bash
cd /app
python3 - <<'PY'
p = "textkit/slug.py"
s = open(p).read()
s = s.replace('slug = re.sub(r"[^a-z0-9]", separator, text)', 'slug = re.sub(r"[^a-z0-9]+", separator, text)')
s = s.replace("slug = slug.lstrip(separator)", "slug = slug.strip(separator)")
old = """        cut = slug[:max_length]
        if separator in cut:
            cut = cut[: cut.rindex(separator) + 1]
        slug = cut
"""
new = """        window = slug[: max_length + 1]  # one extra char shows whether the cut falls on a boundary
        if separator in window:
            slug = window[: window.rindex(separator)]
        else:
            slug = slug[:max_length]
"""
assert old in s
s = s.replace(old, new)
open(p, "w").write(s)
PY
