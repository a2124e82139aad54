"""POST /v1/chat/completions on the tiny Llava: shapes, counts and errors, never content."""

import json

from conftest import png_data_url


def user_with_image(text="What is in this image?", url=None):
    return {"role": "user", "content": [
        {"type": "text", "text": text},
        {"type": "image_url", "image_url": {"url": url or png_data_url()}},
    ]}


def sse_events(resp) -> list[str]:
    return [line[len("data: "):] for line in resp.iter_lines() if line.startswith("data: ")]


def test_chat_with_an_image_returns_a_chat_completion(client):
    r = client.post("/v1/chat/completions", json={
        "model": "tiny-vlm", "messages": [user_with_image()], "max_tokens": 8, "min_tokens": 8})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "tiny-vlm" and isinstance(body["created"], int)
    (choice,) = body["choices"]
    assert choice["index"] == 0 and choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] == "length"
    u = body["usage"]
    assert u["completion_tokens"] == 8 and u["total_tokens"] == u["prompt_tokens"] + 8


def test_prompt_tokens_match_the_processor_token_count(client):
    """usage.prompt_tokens is what the model really read: chat template + image tokens."""
    from transformers import AutoProcessor

    from atelier.core.images import decode_image

    url = png_data_url()
    msgs = [{"role": "system", "content": "Answer briefly."}, user_with_image("Colour?", url)]
    r = client.post("/v1/chat/completions", json={"model": "tiny-vlm", "messages": msgs, "max_tokens": 3})
    assert r.status_code == 200, r.text
    services = client.app.state.services
    proc = AutoProcessor.from_pretrained(services.catalog.resolve("tiny-vlm").source)
    prompt = proc.apply_chat_template([
        {"role": "system", "content": [{"type": "text", "text": "Answer briefly."}]},
        {"role": "user", "content": [{"type": "text", "text": "Colour?"}, {"type": "image"}]},
    ], add_generation_prompt=True, tokenize=False)
    n = proc(text=[prompt], images=[decode_image(url, max_pixels=10**8)], return_tensors="pt")["input_ids"].shape[1]
    assert r.json()["usage"]["prompt_tokens"] == n


def test_multi_turn_conversation_reads_every_turn(client):
    one = [user_with_image()]
    three = one + [{"role": "assistant", "content": "A red square."},
                   {"role": "user", "content": [{"type": "text", "text": "And the blue one?"}]}]
    short = client.post("/v1/chat/completions", json={"model": "tiny-vlm", "messages": one, "max_tokens": 2})
    long = client.post("/v1/chat/completions", json={"model": "tiny-vlm", "messages": three, "max_tokens": 2})
    assert short.status_code == long.status_code == 200
    # The earlier turns are in the prompt, not dropped: the reference project's bug.
    assert long.json()["usage"]["prompt_tokens"] > short.json()["usage"]["prompt_tokens"] + 10


def test_text_only_chat_works_on_a_generic_vlm(client):
    r = client.post("/v1/chat/completions", json={
        "model": "tiny-vlm", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4,
        "temperature": 0.7, "top_p": 0.9, "seed": 3, "stop": ["\n"]})
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["completion_tokens"] <= 4


def test_stream_sends_role_first_then_deltas_finish_reason_usage_and_raw_done(client):
    with client.stream("POST", "/v1/chat/completions", json={
        "model": "tiny-vlm", "messages": [user_with_image()], "max_tokens": 12, "min_tokens": 12,
        "stream": True, "stream_options": {"include_usage": True}}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all("role" not in c["choices"][0]["delta"] for c in chunks[1:] if c["choices"])
    finals = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [f["choices"][0]["finish_reason"] for f in finals] == ["length"]
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] == 12
    assert all(c["usage"] is None for c in chunks[:-1])
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert isinstance(text, str)


def test_stream_without_include_usage_has_no_usage_field(client):
    with client.stream("POST", "/v1/chat/completions", json={
        "model": "tiny-vlm", "messages": [user_with_image()], "max_tokens": 3, "stream": True}) as r:
        events = sse_events(r)
    assert events[-1] == "[DONE]"
    assert all("usage" not in json.loads(e) for e in events[:-1])


def assert_envelope(r, status, code=None, param=None):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    if code:
        assert err["code"] == code
    if param:
        assert err["param"] == param
    if status < 500 and status != 429:
        assert r.headers.get("x-should-retry") == "false"
    return err


def test_unknown_model_is_a_404_in_the_openai_envelope(client):
    r = client.post("/v1/chat/completions", json={"model": "gpt-9", "messages": [user_with_image()]})
    assert_envelope(r, 404, "model_not_found", "model")


def test_generation_model_refused_for_chat(client):
    r = client.post("/v1/chat/completions", json={"model": "tiny-sdxl", "messages": [user_with_image()]})
    assert_envelope(r, 404, "model_not_found", "model")


def test_bad_data_url_names_the_part(client):
    r = client.post("/v1/chat/completions", json={"model": "tiny-vlm", "messages": [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]}]})
    assert_envelope(r, 400, "invalid_image", "messages.0.content.0.image_url")


def test_undecodable_image_is_invalid_image(client):
    r = client.post("/v1/chat/completions", json={"model": "tiny-vlm", "messages": [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}}]}]})
    assert_envelope(r, 400, "invalid_image")


def test_remote_image_url_refused_by_default(client):
    r = client.post("/v1/chat/completions", json={
        "model": "tiny-vlm", "messages": [user_with_image(url="https://example.com/cat.png")]})
    err = assert_envelope(r, 400, "invalid_image")
    assert "ATELIER_ALLOW_REMOTE_IMAGES" in err["message"]


def test_validation_errors_use_the_envelope(client):
    r = client.post("/v1/chat/completions", json={"model": "tiny-vlm", "messages": []})
    assert_envelope(r, 400, "invalid_parameter")
    r = client.post("/v1/chat/completions", json={"model": "tiny-vlm", "messages": [user_with_image()], "n": 2})
    assert_envelope(r, 400, "invalid_parameter", "n")
    r = client.post("/v1/chat/completions", json={"model": "tiny-vlm", "messages": [
        {"role": "user", "content": [{"type": "input_audio"}]}]})
    assert_envelope(r, 400, "invalid_parameter", "messages.0.content.0.type")


def test_json_object_response_format_is_best_effort(client):
    r = client.post("/v1/chat/completions", json={
        "model": "tiny-vlm", "messages": [user_with_image("Describe as JSON")], "max_tokens": 4,
        "response_format": {"type": "json_object"}})
    assert r.status_code == 200 and isinstance(r.json()["choices"][0]["message"]["content"], str)


def test_extract_json_finds_the_object_in_chatter():
    from atelier.openai.chat.service import extract_json

    assert json.loads(extract_json('Sure! {"a": [1, {"b": 2}]} hope that helps')) == {"a": [1, {"b": 2}]}
    assert extract_json("no json here") == "no json here"


def test_a_chat_that_names_no_model_gets_the_servers_default_vision_model(client):
    """The default is decided once, on the server (ModelManager.resolve), and named in /v1/status."""
    default = client.get("/v1/status").json()["default_models"]["vision"]
    r = client.post("/v1/chat/completions", json={"max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200, r.text
    assert r.json()["model"] == default == "tiny-vlm"


def test_a_stream_queued_behind_another_job_sends_pings_then_its_answer(client, monkeypatch):
    """Heartbeats keep a waiting stream alive; deltas that arrive together may share a chunk, but
    the content is the same text the non-streaming answer gives."""
    import threading

    from atelier.openai.chat import service

    monkeypatch.setattr(service, "HEARTBEAT_S", 0.05)
    body = {"model": "tiny-vlm", "messages": [user_with_image("Describe this image.")],
            "max_tokens": 120, "min_tokens": 120}
    plain = client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]

    release = threading.Event()
    worker = client.app.state.services.worker
    client.portal.call(lambda: worker.submit("hold", lambda ctx: release.wait(10)))
    threading.Timer(0.4, release.set).start()
    with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
        lines = [line for line in r.iter_lines() if line]
    first_text = next(i for i, line in enumerate(lines) if '"content": "' in line and '"role"' not in line)
    assert lines[:first_text].count(": ping") >= 3, lines[:first_text]  # 0.4 s queued, a ping per 0.05 s
    chunks = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == plain
