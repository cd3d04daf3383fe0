"""A local server that speaks OpenAI's chat-completions protocol over real HTTP, for the LLM tests.

No paid API is reachable from the tests, so they start this one (on a port the OS picks). Its
replies are scripted per prompt: `script(body)` returns what to do with a request (a reply, an HTTP
status, a pause, a malformed body), usually chosen by a word in the customer's message. Every
request is recorded (headers and JSON body), so a test can prove what was, and was not, sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    text: str
    finish_reason: str = "stop"
    prompt_tokens: int = 120
    completion_tokens: int = 30


@dataclass(frozen=True)
class Status:
    code: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"error": {"message": "scripted failure"}}'


@dataclass(frozen=True)
class Pause:
    seconds: float
    then: Reply | Status | Trickle


@dataclass(frozen=True)
class Raw:
    body: bytes
    status: int = 200


@dataclass(frozen=True)
class Trickle:
    """A 200 whose body comes `chunk` bytes every `every` seconds (a stalled stream, a huge body),
    the first of them `stall` seconds after the headers."""

    body: bytes
    every: float = 0.0
    chunk: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0


Action = Reply | Status | Pause | Raw | Trickle
Script = Callable[[dict[str, Any], int], Action]
"""(request body, how many requests with this customer message came before) -> what to do."""


def customer_message(body: dict[str, Any]) -> str:
    """The text after "The customer's message:" in the last user message (or all of it)."""
    user = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
    text = user[-1] if user else ""
    marker = "The customer's message:"
    return text.split(marker, 1)[1].strip() if marker in text else text


class ChatServer:
    """`with ChatServer(script) as server:`; `server.url` is the base URL (ends in /v1)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with outer._lock:
                    outer.requests.append(body)
                    outer.headers.append(dict(self.headers))
                    key = customer_message(body)
                    n = outer._seen.get(key, 0)
                    outer._seen[key] = n + 1
                if self.path != "/v1/chat/completions":
                    self._send(404, b'{"error": "not found"}')
                    return
                self._act(outer.script(body, n), body)

            def _act(self, action: Action, body: dict[str, Any]) -> None:
                if isinstance(action, Pause):
                    time.sleep(action.seconds)
                    self._act(action.then, body)
                elif isinstance(action, Status):
                    self._send(action.code, action.body, action.headers)
                elif isinstance(action, Raw):
                    self._send(action.status, action.body)
                elif isinstance(action, Trickle):
                    self._trickle(action)
                else:
                    completion = {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "model": body.get("model", "scripted"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": action.text},
                                "finish_reason": action.finish_reason,
                            }
                        ],
                        "usage": {
                            "prompt_tokens": action.prompt_tokens,
                            "completion_tokens": action.completion_tokens,
                            "total_tokens": action.prompt_tokens + action.completion_tokens,
                        },
                    }
                    self._send(200, json.dumps(completion).encode())

            def _trickle(self, action: Trickle) -> None:
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(action.body)))
                    for k, v in action.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.flush()
                    time.sleep(action.stall)
                    for i in range(0, len(action.body), action.chunk):
                        self.wfile.write(action.body[i : i + action.chunk])
                        self.wfile.flush()
                        time.sleep(action.every)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, code: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def sent(self) -> str:
        """Everything the server received, as one text (to search for what must not be there)."""
        return "\n".join(json.dumps(r, ensure_ascii=False) for r in self.requests)
