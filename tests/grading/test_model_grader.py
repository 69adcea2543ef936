"""The grader model client against a real HTTP server speaking the OpenAI protocol."""
from __future__ import annotations

import json
import socket
import time

import pytest

from classroom.grading.model_grading import PROMPT_VERSION, ModelGrader
from classroom.llm import ModelError, ModelSettings, ReplyInvalid
from classroom.llm.grader import REPLY_KEYS, validate_reply
from tests.openai_server import Raw, Reply, Sleep, Status

from .helpers import config_for, good_reply, make_input


def test_good_reply_fills_verdict_and_provenance(openai_server):
    reply = good_reply(explanation_verdict="partially_correct", explanation_score=0.6,
                       feedback="Close: you saw step 2 was wrong but not why.")
    openai_server.script([Sleep(0.15, then=Reply(json=reply, prompt_tokens=321, completion_tokens=45))])
    verdict = ModelGrader(config_for(openai_server)).grade(make_input())

    assert verdict.location_correct is True
    assert verdict.explanation_verdict == "partially_correct"
    assert verdict.explanation_score == pytest.approx(0.6)
    assert verdict.correction_verdict == "absent"
    assert verdict.feedback.startswith("Close: you saw step 2")
    assert verdict.flags == []
    assert verdict.model_name == "test-grader"
    assert verdict.prompt_version == PROMPT_VERSION and PROMPT_VERSION
    assert (verdict.tokens_in, verdict.tokens_out) == (321, 45)
    assert verdict.latency_ms >= 150
    assert json.loads(verdict.raw_reply) == reply
    (req,) = openai_server.chat_requests
    assert req.headers.get("authorization") == "Bearer test-key"
    assert req.body["model"] == "test-grader"


def test_missing_api_key_still_sends_a_placeholder(openai_server):
    ModelGrader(config_for(openai_server, api_key=None)).grade(make_input())
    assert openai_server.chat_requests[0].headers.get("authorization") == "Bearer not-needed"


def test_structured_output_is_requested(openai_server):
    ModelGrader(config_for(openai_server)).grade(make_input())
    (req,) = openai_server.chat_requests
    rf = req.response_format
    assert rf["type"] == "json_schema"
    schema = rf["json_schema"]["schema"]
    assert rf["json_schema"]["strict"] is True
    assert set(schema["required"]) == set(REPLY_KEYS) | {"confidence"} == set(schema["properties"])
    assert schema["additionalProperties"] is False
    assert schema["properties"]["explanation_verdict"]["enum"] == ["correct", "partially_correct", "incorrect"]


def test_falls_back_to_json_object_when_json_schema_rejected(openai_server):
    openai_server.rejected_formats = {"json_schema"}
    grader = ModelGrader(config_for(openai_server, max_attempts=1))
    assert grader.grade(make_input()).explanation_verdict == "correct"
    assert [r.format_type for r in openai_server.chat_requests] == ["json_schema", "json_object"]
    # Remembered: the next grade goes straight to the supported mode.
    grader.grade(make_input())
    assert [r.format_type for r in openai_server.chat_requests][2:] == ["json_object"]


def test_falls_back_to_plain_instructions_when_no_json_mode(openai_server):
    openai_server.rejected_formats = {"json_schema", "json_object"}
    verdict = ModelGrader(config_for(openai_server, max_attempts=1)).grade(make_input())
    assert verdict.explanation_verdict == "correct"
    reqs = openai_server.chat_requests
    assert [r.format_type for r in reqs] == ["json_schema", "json_object", None]
    assert "response_format" not in reqs[-1].body
    assert "JSON object" in reqs[-1].contents("system")[0]


def test_plain_mode_accepts_code_fenced_json(openai_server):
    openai_server.rejected_formats = {"json_schema", "json_object"}
    openai_server.script([Reply(content="```json\n" + json.dumps(good_reply()) + "\n```")])
    assert ModelGrader(config_for(openai_server)).grade(make_input()).explanation_score == 1.0


def test_malformed_json_is_retried_once_with_the_error(openai_server):
    broken = '{"location_correct": true, "explanation_verdict": "correct", '
    openai_server.script([Reply(content=broken, prompt_tokens=100, completion_tokens=10),
                          Reply(json=good_reply(), prompt_tokens=150, completion_tokens=20)])
    verdict = ModelGrader(config_for(openai_server)).grade(make_input())
    assert verdict.explanation_verdict == "correct"
    assert (verdict.tokens_in, verdict.tokens_out) == (250, 30)  # both calls cost tokens
    first, second = openai_server.chat_requests
    assert len(second.messages) == len(first.messages) + 2
    assert second.messages[-2] == {"role": "assistant", "content": broken}
    assert second.messages[-1]["role"] == "user"
    assert "not valid JSON" in second.messages[-1]["content"]


def test_schema_violation_twice_fails_visibly(openai_server):
    no_feedback = {k: v for k, v in good_reply().items() if k != "feedback"}
    openai_server.script([Reply(json=no_feedback), Reply(json=good_reply(explanation_verdict="great"))])
    with pytest.raises(ModelError) as info:
        ModelGrader(config_for(openai_server)).grade(make_input())
    err = info.value
    assert "invalid twice" in err.reason and "explanation_verdict" in err.reason
    assert err.retryable is False
    assert "great" in err.raw_reply
    assert len(openai_server.chat_requests) == 2
    assert '"feedback"' in openai_server.chat_requests[1].messages[-1]["content"]


def test_rate_limit_then_success_backs_off(openai_server):
    openai_server.script([Status(429, "slow down"), Reply(json=good_reply())])
    verdict = ModelGrader(config_for(openai_server, backoff_base=0.3)).grade(make_input())
    assert verdict.explanation_verdict == "correct"
    first, second = openai_server.chat_requests
    assert second.received_at - first.received_at >= 0.15  # base * jitter(0.5..1)


def test_retry_after_header_is_honoured(openai_server):
    openai_server.script([Status(429, "busy", headers={"Retry-After": "0.4"}), Reply(json=good_reply())])
    ModelGrader(config_for(openai_server, backoff_base=0.0)).grade(make_input())
    first, second = openai_server.chat_requests
    assert second.received_at - first.received_at >= 0.35


def test_server_error_on_every_attempt_gives_readable_reason(openai_server):
    openai_server.script([Status(500, "upstream exploded")] * 3)
    with pytest.raises(ModelError) as info:
        ModelGrader(config_for(openai_server, max_attempts=3)).grade(make_input())
    err = info.value
    assert err.reason.startswith("the grader endpoint answered 500")
    assert "upstream exploded" in err.reason and "3 attempts" in err.reason
    assert err.retryable is True and err.status_code == 500
    assert len(openai_server.chat_requests) == 3


def test_slow_replies_time_out_with_reason(openai_server):
    openai_server.script([Sleep(3.0)] * 3)
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        ModelGrader(config_for(openai_server, timeout=0.3, max_attempts=3)).grade(make_input())
    assert time.monotonic() - started < 2.5
    assert "the grader model timed out after 3 attempts" in info.value.reason
    assert info.value.retryable is True


def test_timeout_then_success(openai_server):
    openai_server.script([Sleep(3.0), Reply(json=good_reply())])
    verdict = ModelGrader(config_for(openai_server, timeout=0.3)).grade(make_input())
    assert verdict.explanation_verdict == "correct"


def test_auth_error_is_not_retried(openai_server):
    openai_server.script([Status(401, "bad key")])
    with pytest.raises(ModelError) as info:
        ModelGrader(config_for(openai_server)).grade(make_input())
    assert "401" in info.value.reason and "OPENAI_API_KEY" in info.value.reason
    assert info.value.retryable is False
    assert len(openai_server.chat_requests) == 1


def test_non_json_http_body_is_retried(openai_server):
    openai_server.script([Raw("<html>gateway</html>", status=200, content_type="text/html"),
                          Reply(json=good_reply())])
    assert ModelGrader(config_for(openai_server)).grade(make_input()).explanation_verdict == "correct"
    assert len(openai_server.chat_requests) == 2


def test_unreachable_endpoint(openai_server):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = ModelSettings(base_url=f"http://127.0.0.1:{port}/v1", api_key=None, model="m",
                        timeout=1.0, max_attempts=2, backoff_base=0.01)
    with pytest.raises(ModelError) as info:
        ModelGrader(cfg).grade(make_input())
    assert "could not connect" in info.value.reason and "2 attempts" in info.value.reason


# ---------------------------------------------------------------- validation, config

@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("not json at all", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    (json.dumps({k: v for k, v in good_reply().items() if k != "explanation_score"}), "explanation_score"),
    (json.dumps(good_reply(location_correct="yes")), "location_correct"),
    (json.dumps(good_reply(explanation_verdict="excellent")), "explanation_verdict"),
    (json.dumps(good_reply(correction_verdict="none")), "correction_verdict"),
    (json.dumps(good_reply(explanation_score=1.5)), "explanation_score"),
    (json.dumps(good_reply(explanation_score=True)), "explanation_score"),
    (json.dumps(good_reply(explanation_score="0.5")), "explanation_score"),
    ('{"location_correct": true, "explanation_verdict": "correct", "explanation_score": NaN, '
     '"correction_verdict": "absent", "correction_score": 0, "feedback": "x", "flags": []}', "NaN"),
    (json.dumps(good_reply(explanation_verdict="incorrect", explanation_score=1.0)), "explanation_score"),
    (json.dumps(good_reply(correction_verdict="absent", correction_score=0.5)), "absent"),
    (json.dumps(good_reply(feedback="  ")), "feedback"),
    (json.dumps(good_reply(flags="none")), "flags"),
    (json.dumps(good_reply(flags=[1])), "flags"),
    ('{"location_correct": true, "location_correct": false}', "twice"),
])
def test_validate_reply_rejects_with_reason(text, words):
    with pytest.raises(ReplyInvalid) as info:
        validate_reply(text)
    assert words in str(info.value)


def test_validate_reply_accepts_and_cleans():
    out = validate_reply(json.dumps(good_reply(explanation_score=1, flags=[" a ", "a", "b"])))
    assert out["explanation_score"] == 1.0 and isinstance(out["explanation_score"], float)
    assert out["flags"] == ["a", "b"]
    out = validate_reply(json.dumps({k: v for k, v in good_reply().items() if k != "flags"}))
    assert out["flags"] == []
