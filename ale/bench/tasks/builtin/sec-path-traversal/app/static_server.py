"""Minimal static file server used for the docs site.

serve(root, url_path) -> (status, body) is the whole request logic; the HTTP glue at the bottom
only calls it. url_path is the raw path of the request line (percent-encoded, query string already
removed), e.g. "/guide/intro%20page.html".

Rules:
  * the path is percent-decoded exactly once; a decoded path containing a NUL byte or a backslash,
    or any ".." segment, is refused (403);
  * a segment starting with "." (hidden files such as .env or .git) is not served (404);
  * symlinks are followed, but the final file must lie inside the root directory (403 otherwise);
  * a directory is served as its index.html (404 if there is none);
  * anything that does not exist is 404; a served file is 200 with its bytes as body.
"""
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import unquote


def serve(root, url_path):
    path = unquote(unquote(url_path))
    full = os.path.join(root, path.lstrip("/"))
    if not os.path.abspath(full).startswith(root):
        return 403, b"forbidden"
    if os.path.isdir(full):
        full = os.path.join(full, "index.html")
    if not os.path.exists(full):
        return 404, b"not found"
    with open(full, "rb") as fh:
        return 200, fh.read()


class Handler(BaseHTTPRequestHandler):
    root = "."

    def do_GET(self):
        status, body = serve(self.root, self.path.split("?", 1)[0])
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    Handler.root = os.path.abspath(sys.argv[1])
    HTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
