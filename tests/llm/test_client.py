"""The one OpenAI-compatible client, against the loopback server over real HTTP: plain and JSON
completions, the validation retry, fallbacks, token accounting, and streaming."""
from __future__ import annotations

import json

import pytest

from classroom.llm import ChatClient, ModelError, ModelSettings, ReplyInvalid, client_for, parse_json_object
from tests.openai_server import Reply, Status

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]


def settings(server, **overrides) -> ModelSettings:
    fields = dict(model="m", base_url=server.base_url, api_key="k", timeout=2.0, max_attempts=3, backoff_base=0.01)
    fields.update(overrides)
    return ModelSettings(**fields)


def _even(text: str) -> int:
    value = parse_json_object(text).get("n")
    if not isinstance(value, int) or value % 2:
        raise ReplyInvalid('"n" must be an even whole number')
    return value


def test_complete_counts_tokens_and_time(openai_server):
    openai_server.script([Reply(content="Hello.", prompt_tokens=12, completion_tokens=3)])
    client = ChatClient(settings(openai_server), "tutee")
    done = client.complete(MESSAGES, temperature=0.5)
    assert (done.text, done.tokens_in, done.tokens_out, done.attempts) == ("Hello.", 12, 3, 1)
    assert done.latency_ms >= 0 and done.finish_reason == "stop"
    (req,) = openai_server.chat_requests
    assert req.body["temperature"] == 0.5 and "response_format" not in req.body
    assert (client.usage.requests, client.usage.tokens_in, client.usage.tokens_out) == (1, 12, 3)


def test_ask_json_shows_the_model_its_error_once(openai_server):
    openai_server.script([Reply(json={"n": 3}, prompt_tokens=10, completion_tokens=2),
                          Reply(json={"n": 4}, prompt_tokens=20, completion_tokens=2)])
    reply = ChatClient(settings(openai_server)).ask_json(MESSAGES, _even, schema={"type": "object"}, schema_name="n")
    assert (reply.value, reply.rounds, reply.tokens_in, reply.tokens_out) == (4, 2, 30, 4)
    first, second = openai_server.chat_requests
    assert first.response_format["json_schema"]["name"] == "n"
    assert second.messages[-2] == {"role": "assistant", "content": '{"n": 3}'}
    assert '"n" must be an even whole number' in second.messages[-1]["content"]


def test_ask_json_invalid_twice_is_an_error_with_the_reply(openai_server):
    openai_server.script([Reply(json={"n": 3}), Reply(content="sorry")])
    with pytest.raises(ModelError) as err:
        ChatClient(settings(openai_server), "solver").ask_json(MESSAGES, _even, what="the solver's reply")
    assert err.value.reason.startswith("the solver's reply was invalid twice: the reply is not valid JSON")
    assert err.value.raw_reply == "sorry" and not err.value.retryable


def test_not_found_names_the_role_and_its_variable(openai_server):
    openai_server.script([Status(404, "model 'x' not found")])
    with pytest.raises(ModelError) as err:
        ChatClient(settings(openai_server, model_variable="TUTEE_MODEL"), "tutee").complete(MESSAGES)
    assert err.value.reason == ("the tutee endpoint answered 404 (model 'x' not found) - check OPENAI_BASE_URL and "
                                "TUTEE_MODEL")
    assert len(openai_server.chat_requests) == 1  # not retried


def test_retries_then_reports_the_last_failure(openai_server):
    openai_server.script([Status(503), Status(429, headers={"Retry-After": "0"}), Reply(content="ok")])
    done = ChatClient(settings(openai_server)).complete(MESSAGES)
    assert done.text == "ok" and done.attempts == 3
    openai_server.script([Status(500, "down")] * 3)
    with pytest.raises(ModelError) as err:
        ChatClient(settings(openai_server), "grader").complete(MESSAGES)
    assert err.value.reason == "the grader endpoint answered 500 (down) after 3 attempts" and err.value.retryable


def test_fallbacks_are_learnt_once_and_shared(openai_server):
    openai_server.rejected_formats = {"json_schema"}
    openai_server.responder = lambda req: {"n": 2}
    openai_server.script([Status(400, "temperature is not supported by this model")])
    client = client_for(settings(openai_server, model="shared"), "grader")
    assert client is client_for(settings(openai_server, model="shared"), "grader")
    assert client.ask_json(MESSAGES, _even, schema={"type": "object"}, temperature=0).value == 2
    kinds = [(r.format_type, "temperature" in r.body) for r in openai_server.chat_requests]
    # json_schema refused -> JSON mode; then temperature refused -> dropped; then answered.
    assert kinds == [("json_schema", True), ("json_object", True), ("json_object", False)]
    openai_server.requests.clear()
    client.ask_json(MESSAGES, lambda text: parse_json_object(text), schema={"type": "object"}, temperature=0)
    assert [(r.format_type, "temperature" in r.body) for r in openai_server.chat_requests] == [("json_object", False)]


def test_stream_yields_pieces_and_counts(openai_server):
    text = "Step 2 is fine: 28 times 6 is 168, so I stand by my answer.\nFINAL ANSWER: 168"
    openai_server.script([Reply(content=text, prompt_tokens=40, completion_tokens=21)])
    client = ChatClient(settings(openai_server), "tutee")
    stream = client.stream(MESSAGES, temperature=0.3)
    pieces = list(stream)
    assert len(pieces) > 5 and "".join(pieces) == text
    done = stream.completion
    assert (done.text, done.tokens_in, done.tokens_out, done.finish_reason) == (text, 40, 21, "stop")
    (req,) = openai_server.chat_requests
    assert req.body["stream"] is True and req.body["stream_options"] == {"include_usage": True}
    assert client.usage.tokens_out == 21


def test_stream_without_usage_support_still_counts_roughly(openai_server):
    openai_server.reject_stream_options = True
    openai_server.script([Reply(content="x" * 40)])
    stream = ChatClient(settings(openai_server)).stream(MESSAGES)
    assert "".join(stream) == "x" * 40
    assert stream.completion.tokens_out == 10
    assert ["stream_options" in r.body for r in openai_server.chat_requests] == [True, False]


def test_stream_retries_before_the_first_piece_and_reports_a_break(openai_server):
    openai_server.script([Status(502), Reply(content="abcdefghijklmnopqrstuvwxyz")])
    assert "".join(ChatClient(settings(openai_server)).stream(MESSAGES)) == "abcdefghijklmnopqrstuvwxyz"
    openai_server.script([Reply(content="abcdefghijklmnopqrstuvwxyz", break_after=14)])
    got = []
    with pytest.raises(ModelError) as err:
        for piece in ChatClient(settings(openai_server), "tutee").stream(MESSAGES):
            got.append(piece)
    assert "the tutee model's reply broke off" in err.value.reason
    assert err.value.raw_reply == "".join(got) == "abcdefghijklmn"


@pytest.mark.parametrize("text, words", [
    ('```json\n{"a": 1}\n```', None),
    ('{"a": 1, "a": 2}', "twice"),
    ('{"a": NaN}', "NaN"),
    ("[1]", "JSON object"),
    ("   ", "empty"),
    ('{"a": "' + "x" * 30 + '"}', "longer than 20"),
])
def test_parse_json_object(text, words):
    if words is None:
        assert parse_json_object(text) == {"a": 1}
        return
    with pytest.raises(ReplyInvalid, match=words):
        parse_json_object(text, max_chars=20 if "longer" in words else 20_000)


def test_usage_totals_are_exact_across_threads(openai_server):
    from concurrent.futures import ThreadPoolExecutor

    openai_server.responder = lambda req: Reply(content=json.dumps({"n": 2}), prompt_tokens=5, completion_tokens=1)
    client = ChatClient(settings(openai_server))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: client.ask_json(MESSAGES, _even), range(40)))
    assert (client.usage.requests, client.usage.tokens_in, client.usage.tokens_out) == (40, 200, 40)
