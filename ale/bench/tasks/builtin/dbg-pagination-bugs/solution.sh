#!/bin/bash
cd /app
python3 - <<'PY'
p = "pager/core.py"
s = open(p).read()
s = s.replace("return max(1, n_items // per_page)", "return max(1, -(-n_items // per_page))")
s = s.replace("page > pages + 1", "page > pages")
s = s.replace("start = page * per_page", "start = (page - 1) * per_page")
s = s.replace("""    last = min(pages, first + width)
    first = max(1, last - width)
    return list(range(first, last))""", """    last = min(pages, first + width - 1)
    first = max(1, last - width + 1)
    return list(range(first, last + 1))""")
open(p, "w").write(s)
PY
