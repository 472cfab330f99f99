"""/metrics parses with the Prometheus text parser, and its counters move as requests are
served."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

REQUIRED = {
    "inference_requests": "counter",
    "inference_latency_seconds": "histogram",
    "inference_queue_seconds": "histogram",
    "inference_time_to_first_token_seconds": "histogram",
    "inference_inter_token_seconds": "histogram",
    "inference_prompt_tokens": "counter",
    "inference_generated_tokens": "counter",
    "inference_requests_running": "gauge",
    "inference_requests_waiting": "gauge",
    "inference_kv_usage_ratio": "gauge",
    "inference_prefix_cache_queries_tokens": "counter",
    "inference_prefix_cache_hits_tokens": "counter",
}


def test_metrics_parse_and_have_every_family(server):
    r = httpx.get(server.url + "/metrics")  # no key: scrapers carry none
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    families = {f.name: f.type for f in text_string_to_metric_families(r.text)}
    for name, kind in REQUIRED.items():
        assert families.get(name) == kind, (name, families.get(name))


def test_counters_move(server):
    labels = {"model": server.model, "version": "1"}
    before_ok = server.metric("inference_requests_total", status="200", **labels)
    before_400 = server.metric("inference_requests_total", status="400")
    before_gen = server.metric("inference_generated_tokens_total", **labels)
    before_lat = server.metric("inference_latency_seconds_count", **labels)
    before_ttft = server.metric("inference_time_to_first_token_seconds_count", **labels)
    before_prefix = server.metric("inference_prefix_cache_queries_tokens_total", **labels)
    with server.client() as c:
        body = {"model": server.model, "prompt": "Metrics are", "max_tokens": 3}
        assert c.post("/v1/completions", json=body).status_code == 200
        assert c.post("/v1/completions", json={"model": server.model}).status_code == 400
    assert server.metric("inference_requests_total", status="200", **labels) == before_ok + 1
    assert server.metric("inference_requests_total", status="400") == before_400 + 1
    assert server.metric("inference_generated_tokens_total", **labels) > before_gen
    assert server.metric("inference_latency_seconds_count", **labels) == before_lat + 1
    assert server.metric("inference_time_to_first_token_seconds_count", **labels) > before_ttft
    assert server.metric("inference_prefix_cache_queries_tokens_total", **labels) > before_prefix


def test_health_endpoints_are_open(server):
    for path in ("/health", "/ready", "/v2/health/live", "/v2/health/ready"):
        assert httpx.get(server.url + path).status_code == 200, path
