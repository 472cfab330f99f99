"""A client that goes away cancels its request in the engine and frees its KV blocks, for
streaming and non-streaming calls."""

import json
import socket
import time

def wait_for(cond, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def raw_request(server, path, body):
    host, port = server.host_port.split(":")
    s = socket.create_connection((host, int(port)))
    payload = json.dumps(body).encode()
    s.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Authorization: Bearer {server.key}\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload)
    return s


def check_cancelled(server, before):
    labels = {"model": server.model, "version": "1"}
    # Within a second: the engine counts the request cancelled and holds no KV block for it.
    assert wait_for(lambda: server.metric("inference_requests_cancelled_total", **labels)
                    >= before + 1, 1.0)
    assert wait_for(lambda: server.metric("inference_kv_blocks_used", **labels) == 0 and
                    server.metric("inference_requests_running", **labels) == 0, 1.0)


def test_dropped_stream_is_cancelled(server):
    before = server.metric("inference_requests_cancelled_total", model=server.model)
    body = {"model": server.model, "max_tokens": 400, "stream": True, "temperature": 0,
            "messages": [{"role": "user", "content": "Write a long story about a dragon."}]}
    s = raw_request(server, "/v1/chat/completions", body)
    received = b""
    while received.count(b"data: ") < 3:  # a few tokens arrive: the request is running
        chunk = s.recv(4096)
        assert chunk, "server closed the stream early"
        received += chunk
    assert server.metric("inference_kv_blocks_used", model=server.model) > 0
    s.close()
    check_cancelled(server, before)


def test_dropped_non_streaming_call_is_cancelled(server):
    before = server.metric("inference_requests_cancelled_total", model=server.model)
    body = {"model": server.model, "max_tokens": 400, "temperature": 0,
            "messages": [{"role": "user", "content": "Write a long story about a dragon."}]}
    s = raw_request(server, "/v1/chat/completions", body)
    assert wait_for(lambda: server.metric("inference_requests_running", model=server.model) >= 1,
                    10)
    s.close()
    check_cancelled(server, before)
