"""Model clients: one OpenAI-compatible client and one module per model role.

- client.py     ChatClient (retries, timeouts, structured-output fallbacks, strict JSON with one
                retry showing the model its error, token and latency accounting, streaming),
                ModelSettings, ModelError, ReplyInvalid, client_for (one shared client per settings)
- grader.py     the grader role: prompt and reply contract for grading a critique
- generator.py  the generator role: prompt and reply contract for writing a flawed solution
                (or a correct one), in prose or as a program
- key_reason.py proposing an answer key's reason for a solution whose wrong step is labelled
                (a ProcessBench import), for the instructor to approve

Each role module owns its prompt and what its reply must look like, and nothing else: what the
platform then does with a reply (reconciling it with exact checks, storing it) belongs to the
caller. Nothing here knows Flask, the database or the services.
"""
from .client import (
    ChatClient,
    Completion,
    JsonReply,
    ModelError,
    ModelSettings,
    ReplyInvalid,
    client_for,
    parse_json_object,
)

__all__ = [
    "ChatClient",
    "Completion",
    "JsonReply",
    "ModelError",
    "ModelSettings",
    "ReplyInvalid",
    "client_for",
    "parse_json_object",
]
