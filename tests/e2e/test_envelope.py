"""The envelope POST /infer: success and every documented status code. 429 and 504 come from
a server with a one-slot batch and queue; 503 is covered in test_drain.py."""

import threading
import time

import httpx


def infer(srv, body, headers=None, content=None):
    h = srv.headers() if headers is None else headers
    if content is not None:
        r = httpx.post(srv.url + "/infer", content=content, headers=h, timeout=60)
    else:
        r = httpx.post(srv.url + "/infer", json=body, headers=h, timeout=60)
    j = r.json()
    assert j["status_code"] == r.status_code  # the HTTP status always equals status_code
    return r, j


def test_success_prompt_and_messages(server):
    r, j = infer(server, {"model_name": server.model, "version": "1",
                          "data": {"prompt": "Hello", "max_tokens": 4, "temperature": 0}})
    assert r.status_code == 200 and j["message"] == "ok"
    assert j["result"]["text"] and j["result"]["usage"]["completion_tokens"] <= 4
    r, j = infer(server, {"model_name": server.model,
                          "data": {"messages": [{"role": "user", "content": "Hi"}],
                                   "max_tokens": 4}})
    assert r.status_code == 200 and j["result"]["version"] == "1"


def test_400_names_the_field(server):
    cases = [
        ({"data": {"prompt": "x"}}, "model_name"),
        ({"model_name": server.model}, "data"),
        ({"model_name": server.model, "data": {}}, "data.prompt"),
        ({"model_name": server.model, "data": {"prompt": "x", "max_tokens": "many"}},
         "data.max_tokens"),
        ({"model_name": server.model, "data": {"prompt": "x", "temperature": -1}},
         "data.temperature"),
    ]
    for body, field in cases:
        r, j = infer(server, body)
        assert r.status_code == 400, body
        assert field in j["message"], (field, j["message"])
    r, j = infer(server, None, content=b"{not json")
    assert r.status_code == 400 and "JSON" in j["message"]
    r, j = infer(server, {"model_name": server.model,
                          "data": {"prompt": "x", "max_tokens": 10**6}})
    assert r.status_code == 400 and "--max-tokens-limit" in j["message"]


def test_401_without_saying_why(server):
    r1, j1 = infer(server, {"model_name": server.model, "data": {"prompt": "x"}}, headers={})
    r2, j2 = infer(server, {"model_name": server.model, "data": {"prompt": "x"}},
                   headers={"Authorization": "Bearer " + server.key + "x"})
    assert r1.status_code == r2.status_code == 401
    assert j1["message"] == j2["message"]


def test_404_unknown_model_or_version(server):
    r, j = infer(server, {"model_name": "no-such-model", "data": {"prompt": "x"}})
    assert r.status_code == 404
    r, j = infer(server, {"model_name": server.model, "version": "7", "data": {"prompt": "x"}})
    assert r.status_code == 404 and "version" in j["message"]
    r, j = infer(server, {"model_name": "../etc", "data": {"prompt": "x"}})
    assert r.status_code == 400


def test_413_body_too_large(server):
    r, j = infer(server, {"model_name": server.model, "data": {"prompt": "x" * (5 << 20)}})
    assert r.status_code == 413 and "--max-body-bytes" in j["message"]


def test_504_when_a_request_runs_past_its_timeout(server):
    story = [{"role": "user", "content": "Write a long story about a dragon."}]
    r, j = infer(server, {"model_name": server.model,
                          "data": {"messages": story, "max_tokens": 1000, "temperature": 0,
                                   "timeout_ms": 300}})
    assert r.status_code == 504 and "total timeout of 300 ms" in j["message"], j
    # The server keeps serving.
    r, j = infer(server, {"model_name": server.model, "data": {"prompt": "x", "max_tokens": 2}})
    assert r.status_code == 200, j


def test_429_and_504_from_a_full_server(spawn_server):
    srv = spawn_server("--max-batch", "1", "--max-queue", "1", "--queue-timeout", "0.5",
                       "--drain-timeout", "0")
    story = [{"role": "user", "content": "Write a long story about a dragon."}]
    # The running request must outlast the queued one's 0.5 s in the queue: 1000 greedy tokens
    # (this story reaches them without an end-of-text) take seconds, where 200 took ~0.5 s.
    busy = {"model_name": srv.model,
            "data": {"messages": story, "max_tokens": 1000, "temperature": 0}}
    results = {}

    def run(name, body):
        results[name] = infer(srv, body)

    a = threading.Thread(target=run, args=("running", busy))
    a.start()
    deadline = time.time() + 20
    while srv.metric("inference_requests_running") < 1 and time.time() < deadline:
        time.sleep(0.02)
    b = threading.Thread(target=run, args=("queued", {"model_name": srv.model,
                                                      "data": {"prompt": "x", "max_tokens": 2}}))
    b.start()
    while srv.metric("inference_requests_waiting") < 1 and time.time() < deadline:
        time.sleep(0.02)
    r, j = infer(srv, {"model_name": srv.model, "data": {"prompt": "x", "max_tokens": 2}})
    assert r.status_code == 429 and r.headers["retry-after"]
    b.join()
    r, j = results["queued"]
    assert r.status_code == 504, j
    # The running request is not needed any more: with --drain-timeout 0 the server stops at
    # once and answers it 503, unless it already finished (the model may end its story early).
    srv.proc.terminate()
    a.join()
    assert results["running"][0].status_code in (200, 503)
    assert srv.proc.wait(30) == 0
