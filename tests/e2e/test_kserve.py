"""tritonclient[http] against the KServe v2 endpoints: live, ready, metadata, infer (binary
tensors, as the client sends by default, and JSON tensors), token-id inputs and errors."""

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException


@pytest.fixture(scope="module")
def client(server):
    c = triton.InferenceServerClient(url=server.host_port)
    yield c
    c.close()


def text_input(text, binary):
    i = triton.InferInput("text_input", [1], "BYTES")
    i.set_data_from_numpy(np.array([text.encode()], dtype=np.object_), binary_data=binary)
    return i


def test_live_and_ready(client, server):
    # Health needs no key: probes carry none.
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready(server.model, headers=server.headers())
    assert client.is_model_ready(server.model, "1", headers=server.headers())
    assert not client.is_model_ready("no-such-model", headers=server.headers())


def test_server_and_model_metadata(client, server):
    meta = client.get_server_metadata(headers=server.headers())
    assert meta["name"] == "autoglm"
    m = client.get_model_metadata(server.model, headers=server.headers())
    assert m["name"] == server.model
    assert m["versions"] == ["1"]
    assert {i["name"]: i["datatype"] for i in m["inputs"]} == {"text_input": "BYTES",
                                                               "input_ids": "INT32"}
    placement = m["parameters"]["placement"]
    assert placement["devices"] and placement["splits"] >= 1 and placement["fallbacks"] == 0


@pytest.mark.parametrize("binary", [True, False])
def test_infer_text(client, server, binary):
    result = client.infer(server.model, [text_input("The capital of France is", binary)],
                          parameters={"max_tokens": 6, "temperature": 0},
                          headers=server.headers())
    text = result.as_numpy("text_output")
    assert text.shape == (1,)
    out = text[0].decode() if isinstance(text[0], bytes) else text[0]
    assert out
    ids = result.as_numpy("output_ids")
    assert 0 < len(ids) <= 6
    assert result.get_response()["model_version"] == "1"


def test_infer_token_ids_with_version(client, server):
    ids = triton.InferInput("input_ids", [4], "INT32")
    ids.set_data_from_numpy(np.array([504, 3458, 282, 4649], dtype=np.int32))
    result = client.infer(server.model, [ids], model_version="1",
                          outputs=[triton.InferRequestedOutput("output_ids")],
                          parameters={"max_tokens": 3, "temperature": 0},
                          headers=server.headers())
    assert 0 < len(result.as_numpy("output_ids")) <= 3
    assert result.as_numpy("text_output") is None


def test_infer_errors(client, server):
    with pytest.raises(InferenceServerException) as e:
        client.infer("no-such-model", [text_input("x", True)], headers=server.headers())
    assert "404" in str(e.value.status()) or "not served" in str(e.value)
    with pytest.raises(InferenceServerException) as e:
        client.infer(server.model, [text_input("x", True)], parameters={"temperature": "hot"},
                     headers=server.headers())
    assert "parameters.temperature" in str(e.value)
    with pytest.raises(InferenceServerException):
        client.get_model_metadata(server.model)  # no key
