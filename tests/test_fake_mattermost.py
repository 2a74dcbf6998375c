"""The fake Mattermost answers as the official spec and the real clients expect.

Where the real server and ``mattermost-openapi-v4.yaml`` disagree the fake
follows the server; ``KNOWN_SPEC_MISMATCHES`` below pins each such place.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from mattermostdriver import Driver
from mattermostdriver.websocket import Websocket
from multidict import CIMultiDictProxy

from tests.fakes.ids import is_valid_id
from tests.fakes.mattermost import DEFAULT_PASSWORD, FakeMattermost
from tests.spec_check import MATTERMOST, SpecMismatch, check_response

V4 = "/api/v4"
UNKNOWN_ID = "a" * 26


# --- helpers ---------------------------------------------------------------------------------
@pytest.fixture
async def mm() -> AsyncIterator[FakeMattermost]:
    async with FakeMattermost() as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@dataclass(frozen=True)
class Answer:
    status: int
    headers: CIMultiDictProxy[str]  # case-insensitive, as HTTP header names are
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


async def call(http: aiohttp.ClientSession, mm: FakeMattermost, method: str, path: str, *,
               token: str | None = "bot", body: Any = None,
               query: dict[str, str] | None = None) -> Answer:
    """One REST request; ``token="bot"`` means the bot's personal access token."""
    headers = {} if token is None else {
        "Authorization": f"Bearer {mm.bot_token if token == 'bot' else token}"}
    async with http.request(method, mm.url + path, headers=headers, params=query,
                            json=body) as response:
        return Answer(response.status, response.headers, await response.text())


async def ws_connect(http: aiohttp.ClientSession, mm: FakeMattermost, token: str | None = None,
                     query: dict[str, str] | None = None) -> aiohttp.ClientWebSocketResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.ws_connect(f"{mm.url}{V4}/websocket", headers=headers, params=query)


async def frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.TEXT, msg
    parsed = json.loads(msg.data)
    assert isinstance(parsed, dict)
    return parsed


async def event(ws: aiohttp.ClientWebSocketResponse, name: str) -> dict[str, Any]:
    """The next event called ``name`` (skipping others such as responses)."""
    while (got := await frame(ws)).get("event") != name:
        pass
    return got


async def authed_ws(http: aiohttp.ClientSession, mm: FakeMattermost,
                    token: str) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    ws = await ws_connect(http, mm, token)
    return ws, await event(ws, "hello")


# --- every REST route against the official OpenAPI ------------------------------------------
@dataclass
class Seeded:
    mm: FakeMattermost
    root: dict[str, Any]
    reply: dict[str, Any]

    @property
    def team_id(self) -> str:
        return self.mm.team.id

    def channel_id(self, name: str = "town-square") -> str:
        return self.mm.channel(name).id

    def user_id(self, name: str) -> str:
        return self.mm.user(name).id


@pytest.fixture
async def seeded(mm: FakeMattermost) -> Seeded:
    root = await mm.user_posts("ana", "town-square", "When is the call? @coopbot")
    reply = await mm.user_posts("ben", "town-square", "Thursday 15:00 UTC", root_id=root["id"])
    await mm.user_reacts("ben", root["id"], "thumbsup")
    return Seeded(mm, root, reply)


@dataclass(frozen=True)
class Route:
    method: str
    path: Callable[[Seeded], str]
    status: int
    body: Callable[[Seeded], Any] | None = None
    query: Callable[[Seeded], dict[str, str]] | None = None
    token: str | None = "bot"


SPEC_ROUTES: dict[str, Route] = {
    "me": Route("GET", lambda s: f"{V4}/users/me", 200),
    "user": Route("GET", lambda s: f"{V4}/users/{s.user_id('ana')}", 200),
    "user unknown": Route("GET", lambda s: f"{V4}/users/{UNKNOWN_ID}", 404),
    "me without token": Route("GET", lambda s: f"{V4}/users/me", 401, token=None),
    "me with bad token": Route("GET", lambda s: f"{V4}/users/me", 401, token="nope"),
    "users by ids": Route("POST", lambda s: f"{V4}/users/ids", 200,
                          body=lambda s: [s.user_id("ana"), s.user_id("ben")]),
    "user by name": Route("GET", lambda s: f"{V4}/users/username/ana", 200),
    "user by name unknown": Route("GET", lambda s: f"{V4}/users/username/nobody", 404),
    "channel by name": Route("GET", lambda s: f"{V4}/teams/{s.team_id}/channels/name/town-square", 200),
    "channel by name unknown": Route("GET", lambda s: f"{V4}/teams/{s.team_id}/channels/name/x", 404),
    "my channels": Route("GET", lambda s: f"{V4}/users/me/teams/{s.team_id}/channels", 200),
    "channel": Route("GET", lambda s: f"{V4}/channels/{s.channel_id()}", 200),
    "channel unknown": Route("GET", lambda s: f"{V4}/channels/{UNKNOWN_ID}", 404),
    "create post": Route("POST", lambda s: f"{V4}/posts", 201,
                         body=lambda s: {"channel_id": s.channel_id(), "message": "On it",
                                         "root_id": s.root["id"]}),
    "create post bad token": Route("POST", lambda s: f"{V4}/posts", 401, token="nope",
                                   body=lambda s: {"channel_id": s.channel_id(), "message": "x"}),
    "post": Route("GET", lambda s: f"{V4}/posts/{s.root['id']}", 200),
    "posts page": Route("GET", lambda s: f"{V4}/channels/{s.channel_id()}/posts", 200),
    "posts since": Route("GET", lambda s: f"{V4}/channels/{s.channel_id()}/posts", 200,
                         query=lambda s: {"since": str(s.root["create_at"])}),
    "posts after": Route("GET", lambda s: f"{V4}/channels/{s.channel_id()}/posts", 200,
                         query=lambda s: {"after": s.root["id"], "per_page": "1"}),
    "thread": Route("GET", lambda s: f"{V4}/posts/{s.reply['id']}/thread", 200),
    "reaction": Route("POST", lambda s: f"{V4}/reactions", 201,
                      body=lambda s: {"user_id": s.mm.bot.id, "post_id": s.root["id"],
                                      "emoji_name": "white_check_mark"}),
    "direct channel": Route("POST", lambda s: f"{V4}/channels/direct", 201,
                            body=lambda s: [s.mm.bot.id, s.user_id("ana")]),
}


@pytest.mark.parametrize("name", SPEC_ROUTES)
async def test_rest_answer_matches_official_openapi(name: str, seeded: Seeded,
                                                    http: aiohttp.ClientSession) -> None:
    route = SPEC_ROUTES[name]
    path = route.path(seeded)
    query = route.query(seeded) if route.query else None
    answer = await call(http, seeded.mm, route.method, path, token=route.token,
                        body=route.body(seeded) if route.body else None, query=query)
    assert answer.status == route.status, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    check_response(MATTERMOST, route.method, path, answer.status, answer.json, query=query)
    if answer.status >= 400:
        assert set(answer.json) == {"id", "message", "detailed_error", "request_id", "status_code"}
        assert answer.json["request_id"] == answer.headers["X-Request-Id"]


async def _login(s: Seeded, http: aiohttp.ClientSession, password: str) -> Answer:
    return await call(http, s.mm, "POST", f"{V4}/users/login", token=None,
                      body={"login_id": "ana", "password": password})


async def _team(s: Seeded, http: aiohttp.ClientSession) -> Answer:
    return await call(http, s.mm, "GET", f"{V4}/teams/name/coop")


async def _limited_post(s: Seeded, http: aiohttp.ClientSession) -> Answer:
    s.mm.rate_limit(0, 5)
    return await call(http, s.mm, "POST", f"{V4}/posts",
                      body={"channel_id": s.channel_id(), "message": "x"})


@dataclass(frozen=True)
class Mismatch:
    """A real-server answer the official OpenAPI file does not allow."""

    method: str
    path: str  # the path validated; may differ from the one fetched (see 429)
    fetch: Callable[[Seeded, aiohttp.ClientSession], Awaitable[Answer]]
    status: int
    reason: str  # regex the SpecMismatch message must match


UNDECLARED = "Unknown response http status"
KNOWN_SPEC_MISMATCHES: dict[str, Mismatch] = {
    "login answers 200, spec says 201": Mismatch(
        "POST", f"{V4}/users/login", lambda s, h: _login(s, h, DEFAULT_PASSWORD), 200, UNDECLARED),
    "failed login answers 401, spec lists 400/403": Mismatch(
        "POST", f"{V4}/users/login", lambda s, h: _login(s, h, "wrong"), 401, UNDECLARED),
    "team policy_id is null, spec says string": Mismatch(
        "GET", f"{V4}/teams/name/coop", _team, 200, "policy_id"),
    "unknown post answers 404, spec lists 400/401/403": Mismatch(
        "GET", f"{V4}/posts/{UNKNOWN_ID}",
        lambda s, h: call(h, s.mm, "GET", f"{V4}/posts/{UNKNOWN_ID}"), 404, UNDECLARED),
    "unknown thread answers 404, spec lists 400/401/403": Mismatch(
        "GET", f"{V4}/posts/{UNKNOWN_ID}/thread",
        lambda s, h: call(h, s.mm, "GET", f"{V4}/posts/{UNKNOWN_ID}/thread"), 404, UNDECLARED),
    "reaction with bad token answers 401, spec lists 400/403": Mismatch(
        "POST", f"{V4}/reactions",
        lambda s, h: call(h, s.mm, "POST", f"{V4}/reactions", token="x", body={}), 401, UNDECLARED),
    "any route can answer 429, spec declares it on 4 operations only": Mismatch(
        "POST", f"{V4}/posts", _limited_post, 429, UNDECLARED),
    "429 body is plain text, spec's TooManyRequests is an AppError JSON": Mismatch(
        "POST", f"{V4}/actions/dialogs/submit", _limited_post, 429, "mimetype not found: text/plain"),
}


@pytest.mark.parametrize("name", KNOWN_SPEC_MISMATCHES)
async def test_known_spec_mismatch_follows_real_server(name: str, seeded: Seeded,
                                                       http: aiohttp.ClientSession) -> None:
    case = KNOWN_SPEC_MISMATCHES[name]
    answer = await case.fetch(seeded, http)
    assert answer.status == case.status, answer.text
    body = answer.json if answer.headers["Content-Type"] == "application/json" else answer.text
    with pytest.raises(SpecMismatch, match=case.reason):
        check_response(MATTERMOST, case.method, case.path, answer.status, body,
                       content_type=answer.headers["Content-Type"])


async def test_login_body_is_a_spec_user_and_token_comes_in_header(
        seeded: Seeded, http: aiohttp.ClientSession) -> None:
    answer = await _login(seeded, http, DEFAULT_PASSWORD)
    check_response(MATTERMOST, "POST", f"{V4}/users/login", 201, answer.json)  # body as the 201
    assert answer.json["timezone"] == {"automaticTimezone": "America/Argentina/Buenos_Aires",
                                       "manualTimezone": "", "useAutomaticTimezone": "true"}
    me = await call(http, seeded.mm, "GET", f"{V4}/users/me", token=answer.headers["Token"])
    assert me.json["username"] == "ana"


async def test_team_is_spec_shaped_apart_from_null_policy_id(seeded: Seeded,
                                                             http: aiohttp.ClientSession) -> None:
    team = (await _team(seeded, http)).json
    assert team["policy_id"] is None
    check_response(MATTERMOST, "GET", f"{V4}/teams/name/coop", 200,
                   {k: v for k, v in team.items() if k != "policy_id"})


# --- the real mattermostdriver 7.3.2 against the fake --------------------------------------------
def _driver_options(mm: FakeMattermost, **extra: Any) -> dict[str, Any]:
    return {"url": "127.0.0.1", "port": mm.port, "scheme": "http", "basepath": "/api/v4", **extra}


async def test_mattermostdriver_logs_in_finds_team_and_channel_and_posts(mm: FakeMattermost) -> None:
    def as_bot() -> tuple[dict[str, Any], dict[str, Any]]:
        driver = Driver(_driver_options(mm, token=mm.bot_token))
        me = driver.login()
        team = driver.teams.get_team_by_name("coop")
        channel = driver.channels.get_channel_by_name(team["id"], "town-square")
        post = driver.posts.create_post({"channel_id": channel["id"], "message": "Hello, coop"})
        return me, post

    me, post = await asyncio.to_thread(as_bot)
    assert me["id"] == mm.bot.id and me["is_bot"] is True
    stored = mm.get_post(post["id"])
    assert stored["message"] == "Hello, coop" and stored["props"] == {"from_bot": "true"}


async def test_mattermostdriver_password_login_takes_token_header(mm: FakeMattermost) -> None:
    def as_ana() -> tuple[str, str]:
        driver = Driver(_driver_options(mm, login_id="ana", password=DEFAULT_PASSWORD))
        driver.login()
        return driver.client.token, driver.client.userid

    token, user_id = await asyncio.to_thread(as_ana)
    assert user_id == mm.user("ana").id and mm.store.user_for_token(token) == mm.user("ana")


async def test_mattermostdriver_websocket_gets_hello_then_posted(mm: FakeMattermost) -> None:
    frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def on_message(message: str) -> None:
        await frames.put(json.loads(message))

    options = {**Driver.default_options, **_driver_options(mm, token=mm.bot_token)}
    client = Websocket(options, mm.bot_token)
    task = asyncio.create_task(client.connect(on_message))
    try:
        hello = await asyncio.wait_for(frames.get(), 5)
        assert (hello["event"], hello["seq"]) == ("hello", 0)
        assert await asyncio.wait_for(frames.get(), 5) == {"status": "OK", "seq_reply": 1}
        post = await mm.user_posts("ana", "town-square", "@coopbot ping")
        posted = await asyncio.wait_for(frames.get(), 5)
        assert posted["event"] == "posted" and posted["seq"] == 1
        assert json.loads(posted["data"]["post"])["id"] == post["id"]
    finally:
        client.disconnect()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# --- WebSocket ----------------------------------------------------------------------------------
async def test_challenge_auth_answers_hello_first_then_ok(mm: FakeMattermost,
                                                         http: aiohttp.ClientSession) -> None:
    ws = await ws_connect(http, mm)
    await ws.send_str(json.dumps({"seq": 1, "action": "authentication_challenge",
                                  "data": {"token": mm.bot_token}}))
    hello = await frame(ws)
    assert hello["event"] == "hello" and hello["seq"] == 0
    assert is_valid_id(hello["data"]["connection_id"])
    assert hello["data"]["server_version"].count(".") == 5
    assert hello["broadcast"]["user_id"] == mm.bot.id
    assert await frame(ws) == {"status": "OK", "seq_reply": 1}
    assert await mm.wait_for_websocket("coopbot") == hello["data"]["connection_id"]
    await ws.close()


async def test_header_auth_sends_hello_without_challenge(mm: FakeMattermost,
                                                         http: aiohttp.ClientSession) -> None:
    ws = await ws_connect(http, mm, mm.bot_token)
    hello = await frame(ws)
    assert hello["event"] == "hello" and hello["seq"] == 0
    await ws.close()


async def test_bad_header_token_upgrades_but_leaves_socket_unauthenticated(
        mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    # The route trusts the requester (APIHandlerTrustRequester): no 401 at upgrade time.
    ws = await ws_connect(http, mm, "not-a-token")
    await ws.send_str(json.dumps({"seq": 1, "action": "user_typing", "data": {}}))
    reply = await frame(ws)
    assert reply["status"] == "FAIL" and reply["error"]["status_code"] == 401
    await ws.close()


async def test_bad_challenge_token_closes_socket(mm: FakeMattermost,
                                                 http: aiohttp.ClientSession) -> None:
    ws = await ws_connect(http, mm)
    await ws.send_str(json.dumps({"seq": 1, "action": "authentication_challenge",
                                  "data": {"token": "nope"}}))
    assert (await ws.receive(timeout=5)).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)


async def test_posted_reaches_every_member_with_post_and_mentions_as_json_strings(
        mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    ana_token = mm.token_for("ana")
    bot_ws, _ = await authed_ws(http, mm, mm.bot_token)
    ana_ws, _ = await authed_ws(http, mm, ana_token)
    created = await call(http, mm, "POST", f"{V4}/posts", token=ana_token,
                         body={"channel_id": mm.channel("town-square").id, "message": "@coopbot hi"})
    to_bot, to_author = await event(bot_ws, "posted"), await event(ana_ws, "posted")
    data = to_bot["data"]
    assert isinstance(data["post"], str) and json.loads(data["post"]) == created.json
    assert isinstance(data["mentions"], str) and json.loads(data["mentions"]) == [mm.bot.id]
    assert (data["sender_name"], data["channel_type"], data["channel_name"]) == (
        "@ana", "O", "town-square")
    assert data["channel_display_name"] == "Town Square" and data["team_id"] == mm.team.id
    assert to_bot["broadcast"]["channel_id"] == mm.channel("town-square").id
    assert "mentions" not in to_author["data"] and to_author["seq"] == to_bot["seq"] == 1
    await bot_ws.close()
    await ana_ws.close()


async def test_seq_counts_events_per_connection_and_responses_have_none(
        mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    ws, hello = await authed_ws(http, mm, mm.bot_token)
    for text in ("one", "two", "three"):
        await mm.user_posts("ben", "off-topic", text)
    assert [(await event(ws, "posted"))["seq"] for _ in range(3)] == [1, 2, 3]
    await ws.send_str(json.dumps({"seq": 7, "action": "user_typing",
                                  "data": {"channel_id": mm.channel("off-topic").id}}))
    assert await frame(ws) == {"status": "OK", "seq_reply": 7}
    await ws.close()


async def test_reaction_added_carries_reaction_as_json_string(mm: FakeMattermost,
                                                              http: aiohttp.ClientSession) -> None:
    ws, _ = await authed_ws(http, mm, mm.bot_token)
    post = await mm.user_posts("ana", "town-square", "Vote!")
    await mm.user_reacts("ben", post["id"], "+1")
    reaction = json.loads((await event(ws, "reaction_added"))["data"]["reaction"])
    assert (reaction["user_id"], reaction["post_id"], reaction["emoji_name"]) == (
        mm.user("ben").id, post["id"], "+1")
    await ws.close()


async def test_direct_message_is_type_d_without_team_and_mentions_the_bot(
        mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    dm = await call(http, mm, "POST", f"{V4}/channels/direct", body=[mm.bot.id, mm.user("ana").id])
    assert dm.status == 201 and dm.json["type"] == "D"
    again = await call(http, mm, "POST", f"{V4}/channels/direct", body=[mm.user("ana").id, mm.bot.id])
    assert again.json["id"] == dm.json["id"]
    ws, _ = await authed_ws(http, mm, mm.bot_token)
    await mm.user_posts("ana", dm.json["id"], "remind me tomorrow")
    data = (await event(ws, "posted"))["data"]
    assert (data["channel_type"], data["team_id"], data["channel_display_name"]) == ("D", "", "@ana")
    assert json.loads(data["mentions"]) == [mm.bot.id]
    await ws.close()


async def test_raw_frames_reach_the_client_verbatim_outside_seq(mm: FakeMattermost,
                                                                http: aiohttp.ClientSession) -> None:
    ws, _ = await authed_ws(http, mm, mm.bot_token)
    assert await mm.send_raw_ws('{"event": "posted", "data": ', user="coopbot") == 1
    assert (await ws.receive(timeout=5)).data == '{"event": "posted", "data": '
    await mm.user_posts("ana", "town-square", "after garbage")
    assert (await event(ws, "posted"))["seq"] == 1
    await ws.close()


async def test_dropped_socket_resumes_with_the_events_it_missed(mm: FakeMattermost,
                                                                http: aiohttp.ClientSession) -> None:
    ws, hello = await authed_ws(http, mm, mm.bot_token)
    connection_id = hello["data"]["connection_id"]
    await mm.drop_websockets()
    first = await mm.user_posts("ana", "town-square", "while you were away")
    await mm.user_posts("ben", "town-square", "me too")
    resumed = await ws_connect(http, mm, mm.bot_token,
                               {"connection_id": connection_id, "sequence_number": "1"})
    replayed = [await frame(resumed), await frame(resumed)]
    assert [f["seq"] for f in replayed] == [1, 2] and replayed[0]["event"] == "posted"
    assert json.loads(replayed[0]["data"]["post"])["id"] == first["id"]
    await resumed.close()


async def test_after_restart_reconnect_gets_new_connection_and_hello(
        mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    _, hello = await authed_ws(http, mm, mm.bot_token)
    await mm.go_down()
    await mm.come_back()
    ws = await ws_connect(http, mm, mm.bot_token,
                          {"connection_id": hello["data"]["connection_id"], "sequence_number": "1"})
    fresh = await frame(ws)
    assert fresh["event"] == "hello" and fresh["seq"] == 0
    assert fresh["data"]["connection_id"] != hello["data"]["connection_id"]
    await ws.close()


async def test_clean_close_sends_going_away(mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    ws, _ = await authed_ws(http, mm, mm.bot_token)
    closing = asyncio.create_task(mm.close_websockets_cleanly())
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE and msg.data == 1001
    await ws.close()
    await closing


# --- REST semantics ---------------------------------------------------------------------------------
async def test_since_lists_again_posts_that_got_replies_or_reactions(
        mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    root = await mm.user_posts("ana", "town-square", "Agenda?")
    quiet = await mm.user_posts("ana", "town-square", "Nothing to add")
    since = quiet["create_at"]
    reply = await mm.user_posts("ben", "town-square", "Budget", root_id=root["id"])
    await mm.user_reacts("ben", quiet["id"], "eyes")
    listing = (await call(http, mm, "GET", f"{V4}/channels/{mm.channel('town-square').id}/posts",
                          query={"since": str(since), "page": "5"})).json
    # root: its update_at moved with the reply; quiet: with the reaction; newest created first
    assert listing["order"] == [reply["id"], quiet["id"], root["id"]]
    assert (listing["next_post_id"], listing["prev_post_id"]) == ("", "")
    assert "has_next" not in listing


async def test_after_pages_oldest_first_but_lists_each_page_newest_first(
        mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    cursor = await mm.user_posts("ana", "off-topic", "cursor")
    ids = [(await mm.user_posts("ben", "off-topic", f"n{i}"))["id"] for i in range(3)]
    path = f"{V4}/channels/{mm.channel('off-topic').id}/posts"
    page = (await call(http, mm, "GET", path, query={"after": cursor["id"], "per_page": "2"})).json
    assert page["order"] == [ids[1], ids[0]]
    assert (page["prev_post_id"], page["next_post_id"]) == (cursor["id"], ids[2])
    last = (await call(http, mm, "GET", path, query={"after": ids[1], "per_page": "2"})).json
    assert last["order"] == [ids[2]] and last["next_post_id"] == ""


async def test_thread_lists_the_asked_post_first(mm: FakeMattermost,
                                                 http: aiohttp.ClientSession) -> None:
    root = await mm.user_posts("ana", "town-square", "root")
    reply = await mm.user_posts("ben", "town-square", "reply", root_id=root["id"])
    thread = (await call(http, mm, "GET", f"{V4}/posts/{reply['id']}/thread")).json
    assert thread["order"] == [reply["id"], root["id"]] and thread["has_next"] is False
    assert thread["posts"][root["id"]]["reply_count"] == 1


async def test_json_is_go_encoded_with_exact_content_type(mm: FakeMattermost,
                                                          http: aiohttp.ClientSession) -> None:
    post = await mm.user_posts("ana", "town-square", "a < b & c")
    answer = await call(http, mm, "GET", f"{V4}/posts/{post['id']}")
    assert answer.headers["Content-Type"] == "application/json"
    assert "a \\u003c b \\u0026 c" in answer.text and answer.text.endswith("}\n")
    assert answer.json["message"] == "a < b & c"


async def test_bad_ids_and_unknown_routes_answer_app_errors(mm: FakeMattermost,
                                                            http: aiohttp.ClientSession) -> None:
    bad_id = await call(http, mm, "GET", f"{V4}/channels/short")
    assert (bad_id.status, bad_id.json["id"]) == (400, "api.context.invalid_url_param.app_error")
    missing = await call(http, mm, "GET", f"{V4}/no/such/route")
    assert (missing.status, missing.json["id"]) == (404, "api.context.404.app_error")
    assert "url='/api/v4/no/such/route'" in missing.json["detailed_error"]
    wrong_method = await call(http, mm, "DELETE", f"{V4}/reactions")
    assert (wrong_method.status, wrong_method.text) == (405, "")


# --- failure modes ----------------------------------------------------------------------------------
class ManualClock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_rate_limit_answers_plain_text_429_with_seconds_to_wait(
        http: aiohttp.ClientSession) -> None:
    clock = ManualClock()
    async with FakeMattermost(clock=clock) as mm:
        mm.rate_limit(2, 30)
        first, second, third = [await call(http, mm, "GET", f"{V4}/users/me") for _ in range(3)]
        assert [first.status, second.status] == [200, 200]
        assert (first.headers["X-Ratelimit-Limit"], first.headers["X-Ratelimit-Remaining"],
                first.headers["X-Ratelimit-Reset"]) == ("2", "1", "30")
        assert third.status == 429 and third.text == "limit exceeded\n"
        assert third.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert (third.headers["X-Ratelimit-Reset"], third.headers["Retry-After"]) == ("30", "30")
        refused = await call(http, mm, "POST", f"{V4}/posts",
                             body={"channel_id": mm.channel("town-square").id, "message": "x"})
        assert refused.status == 429 and mm.posts_by("coopbot") == []
        clock.now += 30
        assert (await call(http, mm, "GET", f"{V4}/users/me")).status == 200
        mm.rate_limit_off()
        assert "X-Ratelimit-Limit" not in (await call(http, mm, "GET", f"{V4}/users/me")).headers


async def test_down_server_refuses_connections_then_comes_back_on_same_port(
        mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    ws, _ = await authed_ws(http, mm, mm.bot_token)
    port = mm.port
    await mm.go_down()
    assert (await ws.receive(timeout=5)).type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR)
    with pytest.raises(aiohttp.ClientConnectionError):
        await call(http, mm, "GET", f"{V4}/users/me")
    await mm.come_back()
    assert mm.port == port and (await call(http, mm, "GET", f"{V4}/users/me")).status == 200


async def test_down_behind_proxy_answers_503(mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    await mm.go_down("503")
    assert (await call(http, mm, "GET", f"{V4}/users/me")).status == 503
    await mm.come_back()
    assert (await call(http, mm, "GET", f"{V4}/users/me")).status == 200


async def test_requests_are_counted_per_route(mm: FakeMattermost,
                                              http: aiohttp.ClientSession) -> None:
    channel_id = mm.channel("town-square").id
    for _ in range(2):
        await call(http, mm, "GET", f"{V4}/channels/{channel_id}/posts", query={"since": "1"})
    await call(http, mm, "GET", f"{V4}/users/me")
    assert mm.requests == {f"GET {V4}/channels/{{channel_id}}/posts": 2,
                           f"GET {V4}/users/{{user_id}}": 1}
    assert mm.request_count(method="GET") == 3
    mm.reset_requests()
    assert mm.request_count() == 0


# --- observation hooks --------------------------------------------------------------------------------
async def test_wait_for_post_sees_each_post_once_even_when_it_came_first(
        mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    channel_id = mm.channel("town-square").id
    for text in ("first", "second"):
        await call(http, mm, "POST", f"{V4}/posts", body={"channel_id": channel_id, "message": text})
    assert (await mm.wait_for_post(user_id=mm.bot.id))["message"] == "first"
    assert (await mm.wait_for_post(user_id=mm.bot.id))["message"] == "second"
    later = asyncio.create_task(mm.wait_for_post(user_id=mm.bot.id))
    await call(http, mm, "POST", f"{V4}/posts", body={"channel_id": channel_id, "message": "third"})
    assert (await later)["message"] == "third"
    with pytest.raises(TimeoutError):
        await mm.wait_for_post(user_id=mm.bot.id, timeout=0.05)


async def test_reply_timings_pair_the_bot_reply_with_its_trigger(
        mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    trigger = await mm.user_posts("ana", "town-square", "!ping")
    reply = await call(http, mm, "POST", f"{V4}/posts",
                       body={"channel_id": trigger["channel_id"], "message": "pong",
                             "root_id": trigger["id"]})
    (timing,) = mm.reply_timings()
    assert (timing.trigger_post_id, timing.reply_post_id) == (trigger["id"], reply.json["id"])
    assert timing.seconds >= 0


# --- slash commands --------------------------------------------------------------------------------------
@pytest.fixture
async def command_endpoint() -> AsyncIterator[tuple[str, list[tuple[web.Request, dict[str, str]]],
                                                     list[web.Response]]]:
    """A stand-in bot endpoint: records each request, answers with queued responses."""
    seen: list[tuple[web.Request, dict[str, str]]] = []
    replies: list[web.Response] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append((request, dict(parse_qsl(await request.text(), keep_blank_values=True))))
        return replies.pop(0)

    app = web.Application()
    app.router.add_post("/slash", handle)
    async with TestServer(app) as server:
        yield str(server.make_url("/slash")), seen, replies


async def test_slash_command_sends_mattermost_form_and_posts_in_channel_reply(
        mm: FakeMattermost, http: aiohttp.ClientSession, command_endpoint: Any) -> None:
    url, seen, replies = command_endpoint
    replies.append(web.json_response({"response_type": "in_channel", "text": "Call at 15:00 UTC"}))
    ws, _ = await authed_ws(http, mm, mm.bot_token)
    result = await mm.run_slash(url, "cmd-token", "ana", "town-square", "call next thursday")
    request, form = seen[0]
    assert request.headers["Authorization"] == "Token cmd-token"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert set(form) == {"channel_id", "channel_name", "command", "response_url", "root_id",
                         "team_domain", "team_id", "text", "token", "trigger_id", "user_id",
                         "user_name"}
    assert (form["command"], form["text"], form["user_name"], form["token"]) == (
        "/coop", "call next thursday", "ana", "cmd-token")
    assert form["response_url"].startswith(f"{mm.url}/hooks/commands/")
    (post,) = result.posts
    assert post["user_id"] == mm.user("ana").id and post["props"]["from_webhook"] == "true"
    assert json.loads((await event(ws, "posted"))["data"]["post"])["id"] == post["id"]
    await ws.close()


async def test_slash_plain_text_reply_is_ephemeral_and_response_url_posts_later(
        mm: FakeMattermost, http: aiohttp.ClientSession, command_endpoint: Any) -> None:
    url, seen, replies = command_endpoint
    replies.append(web.Response(text="Working on it"))
    ana_ws, _ = await authed_ws(http, mm, mm.token_for("ana"))
    result = await mm.run_slash(url, "t", "ana", "town-square", "summary")
    assert result.response == {"text": "Working on it"} and result.posts == []
    shown = await event(ana_ws, "ephemeral_message")
    assert json.loads(shown["data"]["post"])["message"] == "Working on it"
    async with http.post(seen[0][1]["response_url"],
                         json={"response_type": "in_channel", "text": "Summary: 3 decisions"}) as r:
        assert r.status == 200
    later = await mm.wait_for_post(user_id=mm.user("ana").id)
    assert later["message"] == "Summary: 3 decisions"
    await ana_ws.close()


# --- pending_post_id: a resend within the window is answered with the post already made ---------
async def test_a_resent_pending_post_id_within_the_window_makes_no_second_post(
        http: aiohttp.ClientSession) -> None:
    now = [1_700_000_000.0]
    async with FakeMattermost(clock=lambda: now[0], pending_post_window=30.0) as mm:
        body = {"channel_id": mm.channel("town-square").id, "message": "hi", "pending_post_id": "bot:7.0",
                "props": {"coopbot_outbox": "7/0"}}
        first = await call(http, mm, "POST", f"{V4}/posts", body=body)
        now[0] += 29
        again = await call(http, mm, "POST", f"{V4}/posts", body=body)
        assert (first.status, again.status) == (201, 201)
        assert again.json["id"] == first.json["id"] and first.json["pending_post_id"] == "bot:7.0"
        now[0] += 2  # 31 s after the first: the server has forgotten it
        late = await call(http, mm, "POST", f"{V4}/posts", body=body)
        assert late.json["id"] != first.json["id"]
        assert [p["message"] for p in mm.posts_by(mm.bot)] == ["hi", "hi"]


async def test_posts_read_back_do_not_carry_the_pending_post_id_but_keep_their_props(
        mm: FakeMattermost, http: aiohttp.ClientSession) -> None:
    channel_id = mm.channel("town-square").id
    body = {"channel_id": channel_id, "message": "hi", "pending_post_id": "bot:8.0", "props": {"coopbot_outbox": "8/0"}}
    created = (await call(http, mm, "POST", f"{V4}/posts", body=body)).json
    posted = await mm.wait_for_post(user_id=mm.bot.id)
    read = (await call(http, mm, "GET", f"{V4}/posts/{created['id']}")).json
    listed = (await call(http, mm, "GET", f"{V4}/channels/{channel_id}/posts", query={"since": "0"})).json
    assert read["pending_post_id"] == "" and listed["posts"][created["id"]]["pending_post_id"] == ""
    assert read["props"]["coopbot_outbox"] == "8/0"
    assert created["id"] == posted["id"]
