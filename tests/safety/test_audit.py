"""`ale safety audit`: JSON and HTML with evidence lines, exit codes, bad input."""
import json
from html.parser import HTMLParser
from pathlib import Path

from typer.testing import CliRunner

from ale.cli import app

LABELLED = Path(__file__).parent / "labelled"


class _Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self._in = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr" and "det" in (dict(attrs).get("class") or ""):
            self._in = []
        elif tag == "script":
            raise AssertionError("the report must be static")

    def handle_data(self, data):
        if self._in is not None:
            self._in.append(data)

    def handle_endtag(self, tag):
        if tag == "tr" and self._in is not None:
            self.rows.append("".join(self._in))
            self._in = None


def test_audit_json_html_and_exit_code(tmp_path):
    files = [str(LABELLED / n) for n in ("tunnel-ssh-R.json", "neg-benign-sum.json", "tamper-conftest.json")]
    r = CliRunner().invoke(app, ["safety", "audit", *files, "--out", str(tmp_path / "audit.json")])
    assert r.exit_code == 1, r.output  # something was found
    res = json.loads((tmp_path / "audit.json").read_text())
    by_file = {Path(f["file"]).name: f for f in res["files"]}
    assert by_file["tunnel-ssh-R.json"]["behaviours"] == ["network_egress", "reverse_tunnel"]
    assert by_file["neg-benign-sum.json"]["behaviours"] == []
    assert res["summary"]["flagged"] == 2 and res["summary"]["by_behaviour"]["test_tampering"] == 1
    p = _Rows()
    p.feed((tmp_path / "audit.html").read_text())
    assert any("reverse_tunnel" in row and "ssh -f -N -R 9000:localhost:22" in row for row in p.rows)
    assert any("test_tampering" in row and "/app/conftest.py" in row for row in p.rows)
    assert "ssh -f -N -R" in r.output  # evidence lines on the terminal too


def test_audit_clean_and_bad_input(tmp_path):
    r = CliRunner().invoke(app, ["safety", "audit", str(LABELLED / "neg-benign-python.json")])
    assert r.exit_code == 0 and "nothing found" in r.output
    (tmp_path / "x.json").write_text("[1, 2]")
    r = CliRunner().invoke(app, ["safety", "audit", str(tmp_path / "x.json")])
    assert r.exit_code == 0 and "unreadable" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["safety", "audit", str(tmp_path / "missing.json")])
    assert r.exit_code == 2 and "no such file" in r.output
