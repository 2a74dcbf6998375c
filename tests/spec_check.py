"""Check HTTP exchanges against the official API descriptions in ``shared/specs``.

    from tests.spec_check import MATTERMOST, check_response
    check_response(MATTERMOST, "post", "/api/v4/posts", 201, body)

Each description is parsed once per process (``functools.cache``; the
Mattermost file is 1.2 MB of YAML). The folder is found through the
``COOPBOT_SPECS_DIR`` environment variable, else as ``shared/specs`` next to or
above the repository; where neither has it, the test that needs it is skipped
(or fails under ``CI=true``).

The files are known to pass ``openapi-spec-validator`` (see the folder's
README), so loading skips that step: it would cost ~4 s per file.
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from tests.auxil.skips import skip_outside_ci

__all__ = [
    "DISCOURSE", "MATTERMOST", "TELEGRAM", "Spec", "SpecMismatch", "check_request",
    "check_response", "load_spec", "specs_dir",
]


@dataclass(frozen=True)
class Spec:
    """One description file and the ``servers`` entry a loopback URL can match."""

    filename: str
    servers: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] | None = None  # (url, vars)

    def servers_json(self) -> list[dict[str, Any]] | None:
        if self.servers is None:
            return None
        return [{"url": url, **({"variables": {k: {"default": v} for k, v in variables}}
                                if variables else {})}
                for url, variables in self.servers]


MATTERMOST = Spec("mattermost-openapi-v4.yaml")  # its server URL is a template: any host matches
DISCOURSE = Spec("discourse-openapi.json", servers=(("/", ()),))
TELEGRAM = Spec("telegram-bot-api-openapi.json", servers=(("/bot{token}", (("token", "x"),)),))

HOST_URL = "http://127.0.0.1:8065"


class SpecMismatch(AssertionError):
    """An exchange the description does not allow; the message says where."""


def specs_dir(filename: str = MATTERMOST.filename) -> Path:
    """The folder holding ``filename``: ``COOPBOT_SPECS_DIR`` if set, else ``shared/specs`` above us.

    Without it the calling test is skipped, saying why: a fresh clone has no
    descriptions beside it. Under ``CI=true`` it fails instead, since CI always
    has them and a check must not quietly stop checking.
    """
    configured = os.environ.get("COOPBOT_SPECS_DIR")
    here = Path(__file__).resolve()
    candidates = [Path(configured)] if configured else [parent / "shared" / "specs" for parent in here.parents]
    for candidate in candidates:
        if (candidate / filename).is_file():
            return candidate
    where = f"COOPBOT_SPECS_DIR={configured}" if configured else "../shared/specs (or set COOPBOT_SPECS_DIR)"
    skip_outside_ci(f"official API description {filename} not found in {where}", "CI must validate against it")


@functools.cache
def load_spec(spec: Spec) -> OpenAPI:
    path = specs_dir(spec.filename) / spec.filename
    text = path.read_text(encoding="utf-8")
    document = (yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
                if path.suffix in (".yaml", ".yml") else json.loads(text))
    servers = spec.servers_json()
    if servers is not None:
        document["servers"] = servers
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


def _encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _explain(error: Exception) -> str:
    """openapi-core nests the useful part (which field, which rule) in ``__cause__``."""
    parts = [f"{type(error).__name__}: {error}"]
    cause = error.__cause__
    while cause is not None:
        parts.append(f"{type(cause).__name__}: {cause}")
        for schema_error in getattr(cause, "schema_errors", ()) or ():
            path = "/".join(str(p) for p in schema_error.absolute_path) or "(root)"
            parts.append(f"  at {path}: {schema_error.message}")
        cause = cause.__cause__
    return "\n".join(parts)


def check_response(spec: Spec, method: str, path: str, status: int, body: Any, *,
                   query: dict[str, Any] | None = None, content_type: str = "application/json",
                   headers: dict[str, str] | None = None) -> None:
    """Raise ``SpecMismatch`` unless ``status`` + ``body`` are a documented answer.

    ``body`` may be parsed JSON, ``str`` or ``bytes``; ``path`` is concrete
    (``/api/v4/posts/abc...``), query parameters go in ``query``.
    """
    request = MockRequest(HOST_URL, method.lower(), path, args=query or {})
    response = MockResponse(_encode(body), status_code=status, headers=headers or {},
                            content_type=content_type)
    try:
        load_spec(spec).validate_response(request, response)
    except Exception as error:  # openapi-core raises several unrelated types
        raise SpecMismatch(f"{method.upper()} {path} -> {status}:\n{_explain(error)}") from error


def check_request(spec: Spec, method: str, path: str, body: Any = None, *,
                  query: dict[str, Any] | None = None,
                  content_type: str = "application/json") -> None:
    """Raise ``SpecMismatch`` unless the request is one the description accepts."""
    request = MockRequest(HOST_URL, method.lower(), path, args=query or {},
                          data=None if body is None else _encode(body), content_type=content_type)
    try:
        load_spec(spec).validate_request(request)
    except Exception as error:
        raise SpecMismatch(f"{method.upper()} {path}:\n{_explain(error)}") from error
