"""Fixtures for the end-to-end tests: the shared server started by scripts/e2e.sh, and extra
short-lived servers for tests that need their own (small queues, SIGTERM)."""

import os
import re
import signal
import subprocess
import threading
import time
import urllib.request

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the e2e tests through scripts/e2e.sh", returncode=2)
    return value


class Server:
    """A running `autoglm serve`: base URL, API key, model name and helpers."""

    def __init__(self, url, key, model, proc=None, log=None):
        self.url = url
        self.key = key
        self.model = model
        self.proc = proc
        self.log = log if log is not None else []

    @property
    def host_port(self):
        return self.url.removeprefix("http://")

    def headers(self):
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    def client(self, timeout=60):
        return httpx.Client(base_url=self.url, headers=self.headers(), timeout=timeout)

    def metrics(self):
        """{(name, labels tuple): value} of every sample on /metrics."""
        text = httpx.get(self.url + "/metrics", timeout=10).text
        samples = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return samples

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels`."""
        total = 0.0
        for (n, lab), v in self.metrics().items():
            d = dict(lab)
            if n == name and all(d.get(k) == val for k, val in labels.items()):
                total += v
        return total


def _wait_ready(url, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url + "/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout} s")


@pytest.fixture(scope="session")
def server():
    url = _env("AUTOGLM_E2E_URL")
    key = os.environ.get("AUTOGLM_E2E_KEY", "")
    _wait_ready(url, None)
    models = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {key}"}).json()
    return Server(url, key, models["data"][0]["id"])


@pytest.fixture
def spawn_server():
    """Starts extra servers on free ports with extra flags; stops them after the test."""
    started = []

    def spawn(*args, key="spawned-key"):
        binary = _env("AUTOGLM_E2E_BIN")
        model = _env("AUTOGLM_E2E_MODEL")
        env = dict(os.environ, AUTOGLM_API_KEY=key)
        proc = subprocess.Popen([binary, "serve", "-m", model, "--port", "0", *args],
                                stderr=subprocess.PIPE, text=True, env=env)
        log = []
        port_seen = threading.Event()
        port = []

        def pump():
            for line in proc.stderr:
                log.append(line)
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if m and not port:
                    port.append(int(m.group(1)))
                    port_seen.set()
            port_seen.set()

        threading.Thread(target=pump, daemon=True).start()
        if not port_seen.wait(60) or not port:
            proc.kill()
            raise RuntimeError("spawned server did not start:\n" + "".join(log))
        url = f"http://127.0.0.1:{port[0]}"
        _wait_ready(url, proc)
        name = os.path.basename(model).removesuffix(".gguf")
        srv = Server(url, key, name, proc, log)
        started.append(srv)
        return srv

    yield spawn
    for srv in started:
        if srv.proc.poll() is None:
            srv.proc.send_signal(signal.SIGTERM)
            try:
                srv.proc.wait(15)
            except subprocess.TimeoutExpired:
                srv.proc.kill()
