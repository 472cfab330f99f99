"""The official openai client against /v1: chat and completions, streaming and not, stop
sequences, usage, seed reproducibility, logprobs and errors."""

import json

import openai
import pytest

MAX = 12  # tokens per reply: enough to check behaviour, cheap on 2 cores
MESSAGES = [{"role": "user", "content": "Name three colors."}]


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=server.key, max_retries=0)


def test_models_lists_the_served_model(client, server):
    ids = [m.id for m in client.models.list().data]
    assert server.model in ids


def test_chat_completion(client, server):
    r = client.chat.completions.create(model=server.model, messages=MESSAGES, max_tokens=MAX,
                                       temperature=0)
    assert r.object == "chat.completion"
    assert r.model == server.model
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens > 0
    assert 0 < r.usage.completion_tokens <= MAX
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_completion(client, server):
    r = client.completions.create(model=server.model, prompt="The capital of France is",
                                  max_tokens=MAX, temperature=0)
    assert r.object == "text_completion"
    assert r.choices[0].text
    assert r.choices[0].finish_reason == "length" or r.usage.completion_tokens < MAX
    assert r.usage.completion_tokens <= MAX


def test_chat_stream_matches_non_stream(client, server):
    whole = client.chat.completions.create(model=server.model, messages=MESSAGES, max_tokens=MAX,
                                           temperature=0)
    chunks = list(client.chat.completions.create(
        model=server.model, messages=MESSAGES, max_tokens=MAX, temperature=0, stream=True,
        stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == whole.choices[0].message.content
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1
    assert finals[0].choices[0].finish_reason == whole.choices[0].finish_reason
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == \
        whole.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_completion_stream(client, server):
    chunks = list(client.completions.create(model=server.model, prompt="Once upon a time",
                                            max_tokens=MAX, temperature=0, stream=True))
    text = "".join(c.choices[0].text for c in chunks)
    assert text
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_raw_sse_framing(server):
    body = {"model": server.model, "messages": MESSAGES, "max_tokens": 4, "stream": True}
    with server.client() as c, c.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    first = json.loads(events[0][6:])
    assert first["object"] == "chat.completion.chunk"
    assert first["choices"][0]["delta"]["role"] == "assistant"


def test_stop_sequence(client, server):
    prompt = "Count: 1, 2, 3, 4, 5, 6, 7, 8, 9,"
    free = client.completions.create(model=server.model, prompt=prompt, max_tokens=MAX,
                                     temperature=0)
    text = free.choices[0].text
    # Stop at the second character of the free-running text: the reply must end before it.
    stop = text.strip()[1:3] if len(text.strip()) > 2 else text.strip()[:1]
    assert stop
    r = client.completions.create(model=server.model, prompt=prompt, max_tokens=MAX,
                                  temperature=0, stop=[stop])
    assert r.choices[0].finish_reason == "stop"
    assert stop not in r.choices[0].text
    assert text.startswith(r.choices[0].text)


def test_seed_reproducibility(client, server):
    def once(seed):
        return client.chat.completions.create(model=server.model, messages=MESSAGES,
                                              max_tokens=MAX, temperature=1.0, seed=seed
                                              ).choices[0].message.content
    assert once(1234) == once(1234)


def test_logprobs(client, server):
    r = client.chat.completions.create(model=server.model, messages=MESSAGES, max_tokens=4,
                                       temperature=0, logprobs=True, top_logprobs=2)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    for t in content:
        assert t.logprob <= 0
        assert len(t.top_logprobs) == 2
        # Greedy: the chosen token is the most likely one.
        assert t.logprob >= max(a.logprob for a in t.top_logprobs) - 1e-4


def test_errors_in_openai_shape(client, server):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=server.model, messages=MESSAGES, n=2)
    assert e.value.body["param"] == "n"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=MESSAGES)
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=server.model, messages=MESSAGES, max_tokens=10**6)
    assert "--max-tokens-limit" in e.value.body["message"]
    bad_key = openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad_key.models.list()
