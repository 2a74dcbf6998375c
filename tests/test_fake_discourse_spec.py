"""The fake Discourse's answers checked against the official OpenAPI description.

Every route the fake serves is called for real over loopback and its answer
validated with openapi-core. The spec documents what an admin sees of a
topic they never touched; real Discourse differs, and the fake follows real
Discourse. Each expected deviation below is listed with its reason, and the
test asserts the deviations are exactly these: a new one fails.
"""
from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jsonschema  # type: ignore[import-untyped]
import pytest
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import InvalidData

from tests.fakes.discourse import FakeDiscourse
from tests.spec_check import DISCOURSE, specs_dir

Deviation = tuple[str, str, str]  # (operation, JSON path with * for list items, rule broken)


@pytest.fixture(scope="session")
def spec_document() -> dict[str, Any]:
    text = (specs_dir(DISCOURSE.filename) / DISCOURSE.filename).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    document["servers"] = [{"url": "/"}]  # the file's https://{defaultHost} would not match 127.0.0.1
    return document


@pytest.fixture(scope="session")
def openapi(spec_document: dict[str, Any]) -> OpenAPI:
    # The file is known to pass openapi-spec-validator (shared/specs/README.md); skip the 4 s re-check.
    return OpenAPI.from_dict(spec_document, config=Config(spec_validator_cls=None))


def deviations(openapi: OpenAPI, operation: str, path: str, status: int, body: Any) -> set[Deviation]:
    """Validate one answer; return what the spec rejects, normalised."""
    method = operation.split()[0].lower()
    request = MockRequest("http://127.0.0.1", method, path.split("?")[0])
    response = MockResponse(json.dumps(body).encode(), status_code=status, content_type="application/json")
    try:
        openapi.validate_response(request, response)
    except InvalidData as exc:
        schema_errors = getattr(exc.__cause__, "schema_errors", None)
        if not schema_errors:
            raise
    else:
        return set()
    found: set[Deviation] = set()
    for error in schema_errors:
        where = ".".join("*" if isinstance(part, int) else str(part) for part in error.absolute_path)
        if error.validator == "required":
            match = re.match(r"'(.+)' is a required property", error.message)
            assert match, error.message
            names = [match.group(1)]
        elif error.validator == "additionalProperties":
            names = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        else:
            names = [""]
        for name in names:
            found.add((operation, ".".join(part for part in (where, name) if part), str(error.validator)))
    return found


TOPIC = "GET /t/{id}.json"
TOPIC_POSTS = "GET /t/{id}/posts.json"
POST = "GET /posts/{id}.json"
LATEST_POSTS = "GET /posts.json"
CREATE = "POST /posts.json"
LATEST = "GET /latest.json"
USER = "GET /u/{username}.json"

# Known and listed in shared/specs/README.md.
REPLY_TO_POST_NUMBER_IS_INT = {
    (TOPIC, "post_stream.posts.*.reply_to_post_number", "type"),
    (TOPIC_POSTS, "post_stream.posts.*.reply_to_post_number", "type"),
    (POST, "reply_to_post_number", "type"),
    (LATEST_POSTS, "latest_posts.*.reply_to_post_number", "type"),
    (CREATE, "reply_to_post_number", "type"),
}
FEATURED_TOPIC_NULL = {(USER, "user.featured_topic", "type")}
# Found here; each is a conditional in Discourse's serializers that the
# spec's admin-viewing-a-fresh-topic fixtures never exercise.
REPLY_TO_USER_ON_REPLIES = {  # PostSerializer#include_reply_to_user?
    (TOPIC, "post_stream.posts.*.reply_to_user", "additionalProperties"),
    (LATEST_POSTS, "latest_posts.*.reply_to_user", "additionalProperties"),
    (CREATE, "reply_to_user", "additionalProperties"),
}
LINK_COUNTS_ONLY_WITH_LINKS = {(TOPIC, "post_stream.posts.*.link_counts", "required")}  # include_link_counts?
TOPIC_LIST_NULLS = {  # TopicPostersSummary: extras only for the last poster; no image -> null
    (LATEST, "topic_list.topics.*.image_url", "type"),
    (LATEST, "topic_list.topics.*.posters.*.extras", "type"),
}
PM_TOPIC = {  # PMs have no category; TopicViewDetailsSerializer#include_allowed_users? for PMs
    (TOPIC, "category_id", "type"),
    (TOPIC, "details.allowed_users", "additionalProperties"),
    (TOPIC, "details.allowed_groups", "additionalProperties"),
}
VIEWER_HAS_TOPIC_USER = {  # has_topic_user? in TopicViewSerializer / TopicViewDetailsSerializer
    (TOPIC, "last_read_post_number", "additionalProperties"),
    (TOPIC, "posted", "additionalProperties"),
    (TOPIC, "details.notifications_reason_id", "additionalProperties"),
}
# reviewable_* need can_review_topic?; details.can_* appear only when true; has_deleted is for staff.
STAFF_ONLY = {
    *(
        (op, f"{prefix}{field}", "required")
        for op, prefix in (
            (TOPIC, "post_stream.posts.*."), (POST, ""), (LATEST_POSTS, "latest_posts.*."), (CREATE, "")
        )
        for field in ("reviewable_id", "reviewable_score_count", "reviewable_score_pending_count")
    ),
    *(
        (TOPIC, f"details.{key}", "required")
        for key in (
            "can_archive_topic", "can_close_topic", "can_convert_topic", "can_delete", "can_edit",
            "can_edit_staff_notes", "can_moderate_category", "can_move_posts", "can_pin_unpin_topic",
            "can_remove_allowed_users", "can_remove_self_id", "can_review_topic", "can_split_merge_topic",
            "can_toggle_topic_visibility",
        )  # fmt: skip
    ),
    (TOPIC, "has_deleted", "required"),
    (USER, "user.user_option", "required"),  # UserSerializer#include_user_option?: self or staff
}


@pytest.fixture
async def forum() -> AsyncIterator[FakeDiscourse]:
    async with FakeDiscourse() as d:
        yield d


async def exchanges(openapi: OpenAPI, d: FakeDiscourse, username: str) -> set[Deviation]:
    """Call every route as ``username`` and collect the spec's objections.

    ``/t/{slug}/{id}.json`` (what pydiscourse calls) and ``/posts/by_number/...``
    are not in the spec; their answers are checked as the operation they mirror.
    """
    topic = d.create_topic("Planning the winter assembly", posts=2, username="bob")
    await d.user_posts("alice", topic.id, "@coopbot @sam when is the call in Buenos Aires?", 2)
    pm = await d.user_sends_pm("alice", ["coopbot", "sam"], "A question", "Can you remind me about the call?")
    ids = topic.post_ids
    reply = {"raw": "The call is at 16:00 in Buenos Aires.", "topic_id": topic.id, "reply_to_post_number": 3}
    calls: list[tuple[str, str, str | None, dict[str, Any] | None]] = [  # operation, path, spec path, body
        (CREATE, "/posts.json", None, reply),
        ("GET /notifications.json", "/notifications.json", None, None),
        ("GET /notifications.json", "/notifications.json?recent=true", None, None),
        (TOPIC, f"/t/{topic.id}.json", None, None),
        (TOPIC, f"/t/{topic.id}.json?print=true", None, None),
        (TOPIC, f"/t/{topic.slug}/{topic.id}.json", f"/t/{topic.id}.json", None),
        (TOPIC, f"/t/{pm.topic_id}.json", None, None),
        (TOPIC_POSTS, f"/t/{topic.id}/posts.json?post_ids[]={ids[0]}&post_ids[]={ids[2]}", None, None),
        (POST, f"/posts/{ids[2]}.json", None, None),
        (POST, f"/posts/by_number/{topic.id}/3.json", f"/posts/{ids[2]}.json", None),
        (LATEST_POSTS, "/posts.json", None, None),
        (LATEST, "/latest.json", None, None),
        (USER, f"/u/{username}.json", None, None),
        (USER, "/u/alice.json", None, None),
        ("PUT /notifications/mark-read.json", "/notifications/mark-read.json", None, {}),
    ]
    found: set[Deviation] = set()
    headers = {"Api-Key": d.api_key, "Api-Username": username}
    async with aiohttp.ClientSession(headers=headers) as http:
        for operation, path, spec_path, payload in calls:
            if operation == CREATE and username == "sam":
                continue  # the admin must not touch the topic: that would add VIEWER_HAS_TOPIC_USER
            method = operation.split()[0]
            async with http.request(method, d.url + path, json=payload) as response:
                assert response.status == 200, (path, await response.text())
                body = await response.json()
            found |= deviations(openapi, operation, spec_path or path, response.status, body)
    return found


# Everything a member-level viewer who took part in the topics meets, staff or not.
TAKING_PART = (
    REPLY_TO_POST_NUMBER_IS_INT
    | FEATURED_TOPIC_NULL
    | REPLY_TO_USER_ON_REPLIES
    | LINK_COUNTS_ONLY_WITH_LINKS
    | TOPIC_LIST_NULLS
    | PM_TOPIC
    | VIEWER_HAS_TOPIC_USER
)


async def test_admin_sees_the_spec_except_the_known_and_found_deviations(
    openapi: OpenAPI, forum: FakeDiscourse
) -> None:
    found = await exchanges(openapi, forum, "sam")
    # sam posts nothing (no POST /posts.json answer) but is a PM recipient, so the
    # PM topic still has sam's TopicUser fields.
    not_posted = {(CREATE, "reply_to_post_number", "type"), (CREATE, "reply_to_user", "additionalProperties")}
    assert found == TAKING_PART - not_posted


async def test_non_staff_bot_additionally_misses_staff_only_fields(
    openapi: OpenAPI, forum: FakeDiscourse
) -> None:
    assert await exchanges(openapi, forum, "coopbot") == TAKING_PART | STAFF_ONLY


async def test_staff_bot_misses_nothing_staff_only(openapi: OpenAPI) -> None:
    async with FakeDiscourse(bot_staff=True) as d:
        assert await exchanges(openapi, d, "coopbot") == TAKING_PART


# --- answers the spec does not describe ------------------------------------------------

# lib/json_error.rb create_errors_json, as described in shared/specs/discourse-webhooks.md
ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["errors"],
    "additionalProperties": False,
    "properties": {
        "errors": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "error_type": {"enum": ["invalid_access", "not_logged_in", "not_found", "rate_limit"]},
        "extras": {
            "type": "object",
            "required": ["wait_seconds", "time_left"],
            "additionalProperties": False,
            "properties": {
                "wait_seconds": {"type": "integer", "minimum": 1},
                "time_left": {"type": "string"},
            },
        },
    },
}
# PostsController#backwards_compatible_json of NewPostResultSerializer's errors
CREATE_REJECTED: dict[str, Any] = {
    "type": "object",
    "required": ["action", "errors"],
    "additionalProperties": False,
    "properties": {"action": {"const": "create_post"}, "errors": ERROR_ENVELOPE["properties"]["errors"]},
}


def test_spec_describes_only_200_answers_for_the_faked_routes(spec_document: dict[str, Any]) -> None:
    """So 403/404/422/429 are checked against the notes below; if the spec grows them, use it."""
    paths = spec_document["paths"]
    for path, method in [
        ("/notifications.json", "get"), ("/notifications/mark-read.json", "put"), ("/t/{id}.json", "get"),
        ("/t/{id}/posts.json", "get"), ("/posts/{id}.json", "get"), ("/posts.json", "get"),
        ("/posts.json", "post"), ("/latest.json", "get"), ("/u/{username}.json", "get"),
    ]:  # fmt: skip
        assert set(paths[path][method]["responses"]) == {"200"}, (path, method)


async def test_error_answers_use_discourses_envelopes(forum: FakeDiscourse) -> None:
    topic = forum.create_topic("Planning the winter assembly")
    bot = {"Api-Key": forum.api_key, "Api-Username": "coopbot"}
    answers: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    async with aiohttp.ClientSession() as http:

        async def call(method: str, path: str, headers: dict[str, str], payload: Any = None) -> None:
            async with http.request(method, forum.url + path, headers=headers, json=payload) as response:
                schema = CREATE_REJECTED if response.status == 422 else ERROR_ENVELOPE
                answers.append((response.status, await response.json(), schema))

        await call("GET", "/notifications.json", {"Api-Key": "wrong", "Api-Username": "coopbot"})
        await call("GET", "/notifications.json", {})
        await call("GET", "/t/999999.json", bot)
        await call("POST", "/posts.json", bot, {"raw": "ok", "topic_id": topic.id})
        forum.start_rate_limiting(wait_seconds=12, requests=1)
        await call("GET", "/notifications.json", bot)
    assert [status for status, _, _ in answers] == [403, 403, 404, 422, 429]
    for _, body, schema in answers:
        jsonschema.validate(body, schema)
