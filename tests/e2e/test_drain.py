"""SIGTERM during a stream: readiness goes false, new requests get 503, the stream completes
and the process exits 0."""

import json
import signal
import threading
import time

import httpx


def test_sigterm_drains_then_exits_zero(spawn_server):
    srv = spawn_server("--drain-timeout", "60")
    # Long enough to still be streaming while the drain is checked: 40 tokens took ~0.1 s.
    body = {"model": srv.model, "max_tokens": 400, "stream": True, "temperature": 0,
            "messages": [{"role": "user", "content": "Write a long story about a dragon."}]}
    events = []
    first = threading.Event()

    def stream():
        with httpx.stream("POST", srv.url + "/v1/chat/completions", json=body,
                          headers=srv.headers(), timeout=120) as r:
            for line in r.iter_lines():
                if line:
                    events.append(line)
                    first.set()
        first.set()

    t = threading.Thread(target=stream)
    t.start()
    assert first.wait(60)
    srv.proc.send_signal(signal.SIGTERM)
    # Readiness false and new work refused while the stream is still running (the signal is
    # taken by another thread: allow it a moment).
    deadline = time.time() + 2
    while httpx.get(srv.url + "/ready", timeout=10).status_code != 503:
        assert time.time() < deadline, "readiness still true after SIGTERM"
        time.sleep(0.01)
    assert t.is_alive(), "the stream ended before the drain could be observed"
    assert httpx.get(srv.url + "/v2/health/ready", timeout=10).status_code == 503
    r = httpx.post(srv.url + "/infer", headers=srv.headers(), timeout=10,
                   json={"model_name": srv.model, "data": {"prompt": "x"}})
    assert r.status_code == 503 and r.json()["status_code"] == 503
    t.join(120)
    assert events[-1] == "data: [DONE]"
    last = json.loads(events[-2][6:])
    assert last["choices"][0]["finish_reason"] == "length"
    assert srv.proc.wait(30) == 0
