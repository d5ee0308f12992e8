"""Fuzzing the HTTP API (issue #12): schemathesis cases from the server's own OpenAPI schema, schema-
conforming and schema-violating, against a real `ale sandbox serve` with real sandbox ids; and
hypothesis over the SDK's calls with hostile values. Asserted: no 5xx, no response slower than a bound.

Default tier: a few hundred cases (under a minute). Slow tier: 10,000+. Requests go to loopback only.
Fuzzed commands run inside real sandboxes (network none), with their timeouts clamped to a few
seconds; `/v1/images/remove` is left out (random names could hit other tests' images), and the images
that fuzzed commits create are removed afterwards.
"""

from __future__ import annotations

import json
import shutil
import time

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from ale.sandbox import NotFound, SandboxError
from ale.sandbox.images import ImageStore
from ale.sandbox.manager import DEFAULT_HOME

from test_api import TOKEN, http, server  # noqa: F401  (the module's real server fixtures)

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.generation.modes import GenerationMode  # noqa: E402

SLOW_BOUND_S = 20.0  # no single response may take longer (timeouts in bodies are clamped to 3 s)
DESTRUCTIVE = ("/v1/sandbox/delete", "/v1/sandbox/stop")


class Pool:
    """Real sandboxes for the fuzzed calls: `live` ones for most verbs, a `victim` for delete/stop
    (made anew when a case has deleted or stopped it)."""

    def __init__(self, http):
        self.http, self.victim = http, None
        self.live = [self._start() for _ in range(2)]

    def _start(self) -> str:
        r = self.http.post("/v1/sandbox/start", json={"memory": "128m", "disk": "32m", "pids": 64})
        assert r.status_code == 200, r.text
        return r.json()["id"]

    def pick(self, path: str, k: int) -> str:
        if path in DESTRUCTIVE:
            st_ = self.http.post("/v1/sandbox/status", json={"sandbox_id": self.victim}) if self.victim else None
            if st_ is None or st_.status_code != 200 or st_.json()["state"] != "running":
                self.victim = self._start()
            return self.victim
        sid = self.live[k % len(self.live)]
        if self.http.post("/v1/sandbox/status", json={"sandbox_id": sid}).json().get("state") != "running":
            self.http.post("/v1/sandbox/reset", json={"sandbox_id": sid})
        return sid

    def close(self) -> None:
        for sid in [*self.live, self.victim]:
            if sid:
                self.http.post("/v1/sandbox/delete", json={"sandbox_id": sid})


def _clamp(body: dict) -> None:
    for key in ("timeout", "idle_timeout"):
        if isinstance(body.get(key), (int, float)) and not isinstance(body.get(key), bool) and body[key] > 3:
            body[key] = 3


def _fuzz(server_url: str, http, n: int) -> dict:
    schema = schemathesis.openapi.from_url(f"{server_url}/openapi.json").exclude(path="/v1/images/remove")
    cases = st.one_of(schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE))
    pool, images_before = Pool(http), {i["name"] for i in http.post("/v1/images/list").json()}
    stats = {"requests": 0, "5xx": [], "slow": [], "by_status": {}}
    session = httpx.Client(base_url=server_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=cases, k=st.integers(0, 9))
    def one(case, k):
        path = case.operation.path
        if isinstance(case.body, dict) and "sandbox_id" in case.body and k < 8:
            case.body["sandbox_id"] = pool.pick(path, k)
        if isinstance(case.query, dict) and "sandbox_id" in case.query and k < 8:
            case.query["sandbox_id"] = pool.pick(path, k)
        if isinstance(case.body, dict):
            _clamp(case.body)
        kw = case.as_transport_kwargs(base_url=server_url)
        t0 = time.monotonic()
        r = session.request(kw["method"], kw["url"], params=kw.get("params"), json=kw.get("json"),
                            content=kw.get("data") if isinstance(kw.get("data"), (bytes, str)) else None,
                            headers={k_: v for k_, v in (kw.get("headers") or {}).items()
                                     if k_.lower() not in ("authorization", "content-length")})
        took = time.monotonic() - t0
        stats["requests"] += 1
        stats["by_status"][r.status_code] = stats["by_status"].get(r.status_code, 0) + 1
        if r.status_code >= 500:
            stats["5xx"].append((kw["method"], path, json.dumps(case.body, default=str)[:300], r.text[:300]))
        if took > SLOW_BOUND_S:
            stats["slow"].append((path, round(took, 1), json.dumps(case.body, default=str)[:200]))

    try:
        one()
    finally:
        session.close()
        pool.close()
        store = ImageStore(DEFAULT_HOME)
        for img in http.post("/v1/images/list").json():
            if img["name"] not in images_before:
                http.post("/v1/images/remove", json={"name": img["name"]})
                for layer in img["layers"][:1]:  # the committed layer; the rest are shared
                    if layer.startswith("c"):
                        shutil.rmtree(store.layers_dir / layer, ignore_errors=True)
    return stats


def _check(stats: dict, at_least: int) -> None:
    print(f"fuzz: {stats['requests']} requests, {len(stats['5xx'])} 5xx, by status {sorted(stats['by_status'].items())}")
    assert stats["requests"] >= at_least
    assert not stats["5xx"], f"{len(stats['5xx'])} server errors, e.g. {stats['5xx'][:5]}"
    assert not stats["slow"], f"responses slower than {SLOW_BOUND_S}s: {stats['slow'][:5]}"


def test_fuzz_api_schema(server, http):  # noqa: F811
    _check(_fuzz(server, http, 300), 250)


@pytest.mark.slow
def test_fuzz_api_schema_long(server, http):  # noqa: F811
    _check(_fuzz(server, http, 10_500), 10_000)


# ---------------------------------------------------------------------------- the SDK with hostile values
HOSTILE_PATHS = st.one_of(
    st.sampled_from(["/", "..", "/..", "/../../etc/passwd", "/proc/self/root/etc/shadow", "/dev/zero",
                     "/proc/1/fd/0", "/tmp/ale-output", "//etc//passwd", "/etc/passwd/", "/" + "a/" * 300,
                     "/tmp/\u202e\u0000x", "/tmp/\ud800", "/tmp/" + "é" * 200, "/tmp/l"]),
    st.text(max_size=64).map(lambda s: "/tmp/" + s))
HUGE = st.one_of(st.integers(min_value=-2 ** 70, max_value=2 ** 70), st.sampled_from([0, -1, 2 ** 63, 2 ** 64]))


@settings(max_examples=60, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(path=HOSTILE_PATHS, offset=HUGE, length=st.one_of(st.none(), HUGE), data=st.binary(max_size=64),
       mode=st.one_of(st.integers(0, 0o7777), HUGE))
def test_sdk_calls_with_hostile_values(sdk_sandbox, path, offset, length, data, mode):
    sb = sdk_sandbox
    for call in (lambda: sb.read_bytes(path, offset=offset, length=length),
                 lambda: sb.write_file(path, data, mode=mode),
                 lambda: sb.list_files(path),
                 lambda: sb.download(path),
                 lambda: sb.read_file(path, start_line=abs(offset) % 5 + 1)):
        try:
            call()
        except SandboxError as e:  # a clear refusal is the right answer; a server error is not
            assert not e.message.startswith("HTTP 5"), e.message
        except ValueError:
            pass  # refused on this side (e.g. a lone surrogate cannot be sent as JSON)
    assert sb.exec("echo alive").stdout == "alive\n"


@pytest.fixture(scope="module")
def sdk_sandbox(server):  # noqa: F811
    from ale.sandbox import SandboxClient, SandboxSpec

    with SandboxClient(server, token=TOKEN) as c:
        sb = c.create(SandboxSpec(memory="128m", disk="32m", pids=64))
        sb.exec(["ln", "-s", "/etc/passwd", "/tmp/l"])
        yield sb
        try:
            sb.delete()
        except NotFound:
            pass
