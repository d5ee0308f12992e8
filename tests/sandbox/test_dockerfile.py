"""Dockerfile instructions beyond the basics: ARG and ${VAR} expansion, multi-stage COPY --from,
ADD of local archives, SHELL, heredocs, ENV forms, CMD/ENTRYPOINT recorded; and every Dockerfile of the
Terminal-Bench dev set parses (when ../shared/tb2-dev is there)."""

import io
import tarfile
from pathlib import Path

import pytest

from ale.sandbox import SandboxError
from ale.sandbox.images import expand, parse_dockerfile
from tests.sandbox.conftest import run_in

TB2_DEV = Path(__file__).resolve().parents[2] / ".." / "shared" / "tb2-dev"
if not TB2_DEV.exists():
    TB2_DEV = Path("/work/shared/tb2-dev")


def test_expand_follows_docker_word_rules():
    env = {"A": "x", "EMPTY": ""}
    assert expand("$A/${A}/${B:-def}/${EMPTY:-e}/${EMPTY-e}/${A:+alt}/${B:+alt}", env) == "x/x/def/e//alt/"
    assert expand("'$A' \"$A b\" \\$A", env) == "$A x b $A"


def test_parse_reports_instruction_and_line():
    with pytest.raises(SandboxError, match=r"Dockerfile:3: unsupported instruction ONBUILD"):
        parse_dockerfile("FROM base\nRUN true\nONBUILD RUN x\n")
    with pytest.raises(SandboxError, match=r"Dockerfile:2: CMD --help is not supported \(CMD takes no flags\)"):
        parse_dockerfile("FROM base\nCMD --help\n")
    ins = parse_dockerfile("ARG V=1\nFROM base\nRUN a && \\\n  # a comment inside\n  b\n")
    assert [(i.op, i.line) for i in ins] == [("ARG", 1), ("FROM", 2), ("RUN", 3)]
    assert ins[2].value == ("a &&   b",)


def test_every_tb2_dev_dockerfile_parses():
    files = sorted(TB2_DEV.glob("*/environment/Dockerfile"))
    if not files:
        pytest.skip("../shared/tb2-dev is not here")
    for f in files:
        ops = {i.op for i in parse_dockerfile(f.read_text(), str(f))}
        assert ops <= {"FROM", "RUN", "COPY", "WORKDIR"}, (f, ops)


def test_multistage_args_add_shell_heredocs(manager, tmp_path):
    m, run = manager
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in [("pkg/one.txt", b"one\n"), ("pkg/sub/two.txt", b"two\n")]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    (tmp_path / "bundle.tar.gz").write_bytes(buf.getvalue())
    (tmp_path / "plain.txt").write_text("plain\n")
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE=base\n"
        "ARG GREETING=hi\n"
        "FROM ${BASE} AS builder\n"
        "ARG GREETING\n"
        "ARG NUM=1\n"
        "RUN mkdir -p /out/dir && printf '#!/bin/sh\\necho tool says %s %s\\n' \"$GREETING\" \"$NUM\" > /out/tool "
        "&& chmod 755 /out/tool && echo in-dir > /out/dir/f.txt\n"
        "FROM $BASE\n"
        'ENV APP_HOME=/srv/app NAME="two words"\n'
        "ENV LEGACY value with spaces\n"
        "WORKDIR ${APP_HOME}\n"
        "WORKDIR sub\n"
        "COPY --from=builder /out/tool /usr/local/bin/\n"
        "COPY --from=0 out/dir ./copied/\n"
        "ADD bundle.tar.gz /opt/\n"
        "ADD plain.txt .\n"
        "COPY --chmod=700 plain.txt secret.txt\n"
        'SHELL ["/bin/bash", "-c"]\n'
        "RUN [[ -n \"$BASH_VERSION\" ]] && echo bash > shell.txt\n"
        "RUN <<EOF\n"
        "echo from heredoc > heredoc.txt\n"
        "EOF\n"
        "COPY <<EOF /etc/motd\n"
        "welcome $NAME\n"
        "EOF\n"
        'ENTRYPOINT ["/usr/local/bin/tool"]\n'
        "CMD tool --verbose\n"
        "EXPOSE 8080\n")
    name = f"test-df-{tmp_path.name}".lower()
    img = run(m.build_image(name, tmp_path / "Dockerfile", tmp_path, build_args={"NUM": "42"}, log=lambda s: None))
    try:
        assert img.config.workdir == "/srv/app/sub"
        assert img.config.env["NAME"] == "two words" and img.config.env["LEGACY"] == "value with spaces"
        assert "GREETING" not in img.config.env  # ARGs are build-time only
        assert img.entrypoint == ["/usr/local/bin/tool"] and img.cmd == ["/bin/bash", "-c", "tool --verbose"]
        assert img.shell == ["/bin/bash", "-c"]
        out = run_in(manager, name, "pwd; tool; cat copied/f.txt /opt/pkg/one.txt /opt/pkg/sub/two.txt plain.txt "
                                    "shell.txt heredoc.txt /etc/motd; stat -c %a secret.txt; test -e /out || echo no-out")
        assert out.splitlines() == ["/srv/app/sub", "tool says hi 42", "in-dir", "one", "two", "plain", "bash",
                                    "from heredoc", "welcome $NAME", "700", "no-out"]
    finally:
        run(m.remove_image(name))


def test_build_rebuilds_when_context_changes(manager, tmp_path):
    """ensure_built (what `ale bench` uses) keeps an unchanged image and rebuilds when any context file changes."""
    m, run = manager
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "unused.txt").write_text("u\n")
    (tmp_path / "Dockerfile").write_text("FROM base\nCOPY a.txt /a.txt\n")
    name = f"test-ctx-{tmp_path.name}".lower()
    logs: list[str] = []
    try:
        first = run(m.build_image(name, tmp_path / "Dockerfile", tmp_path, rebuild_changed=True, log=logs.append))
        again = run(m.build_image(name, tmp_path / "Dockerfile", tmp_path, rebuild_changed=True, log=logs.append))
        assert again.created == first.created  # not rebuilt
        (tmp_path / "unused.txt").write_text("changed\n")
        third = run(m.build_image(name, tmp_path / "Dockerfile", tmp_path, rebuild_changed=True, log=logs.append))
        assert third.build_key != first.build_key and third.created > first.created
        assert any("rebuilding" in line for line in logs)
    finally:
        run(m.remove_image(name))


def test_dockerignore(manager, tmp_path):
    """COPY . leaves out what .dockerignore excludes (with ! exceptions), an excluded file changing does
    not rebuild, and naming an excluded file is a clear error."""
    m, run = manager
    (tmp_path / ".dockerignore").write_text("# build junk\n*.log\n!keep.log\nsecret/\n**/cache\n")
    for rel, text in [("a.txt", "a"), ("x.log", "x"), ("keep.log", "k"), ("secret/key", "s"),
                      ("sub/cache/blob", "c"), ("sub/b.txt", "b")]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "Dockerfile").write_text("FROM base\nCOPY . /app/\n")
    name = f"test-ignore-{tmp_path.name}".lower()
    try:
        first = run(m.build_image(name, tmp_path / "Dockerfile", tmp_path, rebuild_changed=True, log=lambda s: None))
        out = run_in(manager, name, "cd /app && find . -type f | sort")
        assert out.split() == ["./.dockerignore", "./Dockerfile", "./a.txt", "./keep.log", "./sub/b.txt"]
        (tmp_path / "x.log").write_text("changed")  # excluded: no rebuild
        again = run(m.build_image(name, tmp_path / "Dockerfile", tmp_path, rebuild_changed=True, log=lambda s: None))
        assert again.created == first.created
    finally:
        run(m.remove_image(name))
    (tmp_path / "Dockerfile").write_text("FROM base\nCOPY secret/key /key\n")
    with pytest.raises(SandboxError, match="COPY source not found: secret/key \\(excluded by .dockerignore\\)"):
        run(m.build_image(name, tmp_path / "Dockerfile", tmp_path))
