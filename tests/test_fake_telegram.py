"""The fake Telegram Bot API, called for real over loopback and checked against the OpenAPI file (Bot API 8.1).

Every answer the spec describes is validated with ``tests.spec_check``: 200s
against the method's result type, errors against the ``default`` Error
schema (for paths the spec lacks, through getMe's, as every operation shares
it). The HTML parser is also tested directly through ``parse_html``.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from tests.fakes.telegram import DEFAULT_CHAT, FakeChat, FakeTelegram, TelegramHtmlError, parse_html
from tests.spec_check import TELEGRAM, SpecMismatch, check_request, check_response

TOKEN = "123456:TEST-token"
COUNCIL = DEFAULT_CHAT.id
WALL = 1_750_000_000.75


class ManualClock:
    """The fake's flood clock, moved by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Answer:
    status: int
    headers: CIMultiDictProxy[str]
    raw: bytes

    def body(self) -> dict[str, Any]:
        """The JSON envelope, after checking the invariants every Bot API answer keeps."""
        assert self.headers["Content-Type"] == "application/json"
        body: dict[str, Any] = json.loads(self.raw)
        if body["ok"] is True:
            assert self.status == 200 and set(body) == {"ok", "result"}
        else:
            assert self.status == body["error_code"], "HTTP status must equal error_code"
            assert set(body) <= {"ok", "error_code", "description", "parameters"}
        return body


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def tg(clock: ManualClock) -> AsyncIterator[FakeTelegram]:
    private = FakeChat(42, "private", first_name="Ana", username="ana_coop")
    async with FakeTelegram(chats=[DEFAULT_CHAT, private], clock=clock, wall_clock=lambda: WALL) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http: aiohttp.ClientSession, tg: FakeTelegram, method: str, params: dict[str, Any] | None = None,
               *, how: str = "json", verb: str = "POST", token: str = TOKEN) -> Answer:
    """One request to ``method``, parameters as a JSON body, a urlencoded ``form`` or the ``query`` string."""
    url = f"{tg.url}/bot{token}/{method}"
    options: dict[str, Any] = {}
    if how == "json" and params is not None:
        options["json"] = params
    elif how == "form":
        options["data"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (params or {}).items()}
    elif how == "multipart":
        options["data"] = aiohttp.FormData({k: str(v) for k, v in (params or {}).items()}, default_to_multipart=True)
    elif how == "query":
        options["params"] = {k: str(v) for k, v in (params or {}).items()}
    async with http.request(verb, url, **options) as response:
        return Answer(response.status, response.headers, await response.read())


def spec(method: str, answer: Answer) -> dict[str, Any]:
    """The envelope, validated against the OpenAPI description of ``method``."""
    body = answer.body()
    check_response(TELEGRAM, "post", f"/bot{TOKEN}/{method}", answer.status, body)
    return body


async def send(http: aiohttp.ClientSession, tg: FakeTelegram, text: str, chat_id: int | str = COUNCIL,
               **extra: Any) -> Answer:
    return await call(http, tg, "sendMessage", {"chat_id": chat_id, "text": text, **extra})


def error(answer: Answer, method: str = "sendMessage") -> tuple[int, str]:
    body = spec(method, answer)
    assert body["ok"] is False
    return body["error_code"], body["description"]


# --- getMe / getChat ----------------------------------------------------------------------------------

async def test_get_me_is_the_bot_user(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    result = spec("getMe", await call(http, tg, "getMe"))["result"]
    assert result == {"id": 123456, "is_bot": True, "first_name": "Coopbot", "username": "coopbot_bot",
                      "can_join_groups": True, "can_read_all_group_messages": False,
                      "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}


@pytest.mark.parametrize("chat_id", [COUNCIL, str(COUNCIL), "@coopcouncil", "@CoopCouncil"])
async def test_get_chat_finds_the_channel_by_id_or_username(tg: FakeTelegram, http: aiohttp.ClientSession,
                                                            chat_id: int | str) -> None:
    result = spec("getChat", await call(http, tg, "getChat", {"chat_id": chat_id}))["result"]
    assert {k: result[k] for k in ("id", "type", "title", "username")} == {
        "id": COUNCIL, "type": "channel", "title": "Council", "username": "coopcouncil"}
    assert isinstance(result["accent_color_id"], int) and isinstance(result["max_reaction_count"], int)
    assert set(result["accepted_gift_types"]) == {  # required from Bot API 9.0 (telegram-bot-api.json)
        "unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels"}


async def test_get_chat_of_a_private_chat(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    result = spec("getChat", await call(http, tg, "getChat", {"chat_id": 42}))["result"]
    assert (result["type"], result["first_name"], "title" in result) == ("private", "Ana", False)


@pytest.mark.parametrize(("params", "description"), [
    ({"chat_id": -100999}, "Bad Request: chat not found"),
    ({"chat_id": "@nobody"}, "Bad Request: chat not found"),
    ({"chat_id": "council"}, "Bad Request: chat not found"),
    ({}, "Bad Request: chat_id is empty"),
])
async def test_get_chat_errors(tg: FakeTelegram, http: aiohttp.ClientSession, params: dict[str, Any],
                               description: str) -> None:
    assert error(await call(http, tg, "getChat", params), "getChat") == (400, description)


# --- URL, token, method names, parameter encodings -----------------------------------------------------

async def test_wrong_token_is_401_unauthorized(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    answer = await call(http, tg, "getMe", token="123456:WRONG")
    assert json.loads(answer.raw) == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert error(answer, "getMe") == (401, "Unauthorized")
    assert tg.requests[-1].status == 401


@pytest.mark.parametrize("token", ["notatoken", "0123:abc", "abc:def"])
async def test_malformed_token(tg: FakeTelegram, http: aiohttp.ClientSession, token: str) -> None:
    code, description = error(await call(http, tg, "getMe", token=token), "getMe")
    expected = (421, "Misdirected Request: unallowed token specified") if token == "abc:def" else (
        401, "Unauthorized: invalid token specified")
    assert (code, description) == expected


async def test_unknown_method_and_path(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    # the spec has no such paths; the body is checked as getMe's default (Error) answer
    assert error(await call(http, tg, "sendMessages"), "getMe") == (404, "Not Found: method not found")
    async with http.get(f"{tg.url}/api/getMe") as response:
        answer = Answer(response.status, response.headers, await response.read())
    assert error(answer, "getMe") == (404, "Not Found")
    async with http.get(f"{tg.url}/bot{TOKEN}") as response:
        assert (response.status, (await response.json())["description"]) == (404, "Not Found")


@pytest.mark.parametrize("spelling", ["sendMessage", "SENDMESSAGE", "sendmessage", "SendMessage"])
async def test_method_names_are_case_insensitive(tg: FakeTelegram, http: aiohttp.ClientSession,
                                                 spelling: str) -> None:
    answer = await call(http, tg, spelling, {"chat_id": COUNCIL, "text": "hi"})
    assert spec("sendMessage", answer)["result"]["text"] == "hi"
    assert tg.requests[-1].method == "sendMessage"


@pytest.mark.parametrize(("how", "verb"), [("json", "POST"), ("form", "POST"), ("multipart", "POST"),
                                           ("query", "GET"), ("query", "POST")])
async def test_parameters_in_any_encoding(tg: FakeTelegram, http: aiohttp.ClientSession, how: str,
                                          verb: str) -> None:
    params = {"chat_id": COUNCIL, "text": "<b>Agenda</b> &amp; minutes", "parse_mode": "HTML"}
    answer = await call(http, tg, "sendMessage", params, how=how, verb=verb)
    result = spec("sendMessage", answer)["result"]
    assert (result["text"], result["entities"]) == ("Agenda & minutes", [{"offset": 0, "length": 6, "type": "bold"}])
    request = tg.requests[-1]
    assert (request.method, request.http_method, request.status) == ("sendMessage", verb, 200)
    assert request.params["chat_id"] == (COUNCIL if how == "json" else str(COUNCIL))


async def test_query_string_parameters_come_first(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    url = f"{tg.url}/bot{TOKEN}/sendMessage?text=from+the+query"
    async with http.post(url, json={"chat_id": COUNCIL, "text": "from the body"}) as response:
        assert (await response.json())["result"]["text"] == "from the query"


async def test_json_values_reach_the_server_as_json_text(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    # a JSON null is the string "null" to the server: not a parse mode, and a text like any other
    answer = await send(http, tg, "x", parse_mode=None)
    assert error(answer) == (400, "Bad Request: unsupported parse_mode")
    assert spec("sendMessage", await send(http, tg, None))["result"]["text"] == "null"  # type: ignore[arg-type]


async def test_a_body_that_is_not_a_json_object(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{tg.url}/bot{TOKEN}/sendMessage", data=b"[1, 2]",
                         headers={"Content-Type": "application/json"}) as response:
        answer = Answer(response.status, response.headers, await response.read())
    assert error(answer) == (400, "Bad Request: JSON object expected")


# --- sendMessage ---------------------------------------------------------------------------------------

async def test_send_message_answers_the_message(tg: FakeTelegram, http: aiohttp.ClientSession,
                                                clock: ManualClock) -> None:
    first = spec("sendMessage", await send(http, tg, "  Council <i>digest</i>\n", parse_mode="HTML"))["result"]
    second = spec("sendMessage", await send(http, tg, "second", chat_id="@coopcouncil"))["result"]
    channel = {"id": COUNCIL, "title": "Council", "username": "coopcouncil", "type": "channel"}
    assert first == {"message_id": 1, "sender_chat": channel, "chat": channel, "date": int(WALL),
                     "text": "Council digest", "entities": [{"offset": 8, "length": 6, "type": "italic"}]}
    assert (second["message_id"], "entities" in second) == (2, False)
    sent = tg.messages[0]
    assert (sent.chat_id, sent.message_id, sent.text, sent.parse_mode, sent.raw_text, sent.at, sent.date) == (
        COUNCIL, 1, "Council digest", "HTML", "  Council <i>digest</i>\n", clock.now, int(WALL))
    assert sent.entities == first["entities"] and sent.result == first


async def test_private_chats_get_the_bot_as_sender(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    result = spec("sendMessage", await send(http, tg, "hello", chat_id=42))["result"]
    assert result["from"] == {"id": 123456, "is_bot": True, "first_name": "Coopbot", "username": "coopbot_bot"}
    assert "sender_chat" not in result and result["message_id"] == 1  # ids count per chat


@pytest.mark.parametrize(("params", "description"), [
    ({"chat_id": COUNCIL}, "Bad Request: message text is empty"),
    ({"chat_id": COUNCIL, "text": ""}, "Bad Request: message text is empty"),
    ({"chat_id": COUNCIL, "text": " \n  "}, "Bad Request: message must be non-empty"),
    ({"chat_id": COUNCIL, "text": "<b> </b>\n", "parse_mode": "HTML"}, "Bad Request: message must be non-empty"),
    ({"chat_id": -100999, "text": "x"}, "Bad Request: chat not found"),
    ({"text": "x"}, "Bad Request: chat_id is empty"),
    ({"chat_id": COUNCIL, "text": "x", "parse_mode": "Markdown3"}, "Bad Request: unsupported parse_mode"),
    ({"chat_id": COUNCIL, "text": "<p>x</p>", "parse_mode": "html"},
     'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0'),
    ({"chat_id": COUNCIL, "text": "x", "reply_parameters": {"message_id": 77}},
     "Bad Request: message to be replied not found"),
])
async def test_send_message_errors(tg: FakeTelegram, http: aiohttp.ClientSession, params: dict[str, Any],
                                   description: str) -> None:
    assert error(await call(http, tg, "sendMessage", params)) == (400, description)
    assert tg.messages == [] and tg.requests[-1].status == 400


async def test_replies(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    await send(http, tg, "the agenda")
    reply = spec("sendMessage", await send(http, tg, "addendum", reply_parameters={"message_id": 1}))["result"]
    assert (reply["reply_to_message"]["message_id"], reply["reply_to_message"]["text"]) == (1, "the agenda")
    lenient = {"message_id": 99, "allow_sending_without_reply": True}
    assert "reply_to_message" not in spec("sendMessage", await send(http, tg, "x", reply_parameters=lenient))["result"]


async def test_link_preview_options_are_echoed(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    answer = await send(http, tg, "see https://example.org", link_preview_options={"is_disabled": True})
    assert spec("sendMessage", answer)["result"]["link_preview_options"] == {"is_disabled": True}
    answer = await call(http, tg, "sendMessage", {"chat_id": COUNCIL, "text": "x", "link_preview_options": "{"},
                        how="form")
    assert error(answer) == (400, "Bad Request: can't parse link preview options JSON object")


async def test_explicit_entities_instead_of_parse_mode(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    entities = [{"type": "bold", "offset": 0, "length": 4}, {"type": "url", "offset": 5, "length": 3}]
    result = spec("sendMessage", await send(http, tg, "Vote now", entities=entities))["result"]
    assert result["entities"] == [{"offset": 0, "length": 4, "type": "bold"}]  # detected kinds are Telegram's own


async def test_every_html_entity_kind_fits_the_spec(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    text = ('<b>b</b> <i>i</i> <u>u</u> <s>s</s> <tg-spoiler>p</tg-spoiler> <code>c</code> '
            '<pre><code class="language-python">x = 1</code></pre> <a href="https://coop.example/">l</a> '
            '<a href="tg://user?id=7">m</a> <tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> '
            '<blockquote>q</blockquote><blockquote expandable>e</blockquote>')
    result = spec("sendMessage", await send(http, tg, text, parse_mode="HTML"))["result"]
    assert [e["type"] for e in result["entities"]] == [
        "bold", "italic", "underline", "strikethrough", "spoiler", "code", "pre", "text_link", "text_mention",
        "custom_emoji", "blockquote", "expandable_blockquote"]


# --- the 4096 limit, counted after parsing in UTF-16 code units -------------------------------------------

async def test_markup_does_not_count_towards_the_limit(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    raw = f"<b>{'x' * 1000}</b><code>{'y' * 2755}</code>" + "&amp;" * 245
    assert len(raw) == 5000
    result = spec("sendMessage", await send(http, tg, raw, parse_mode="HTML"))["result"]
    assert len(result["text"]) == 4000
    with pytest.raises(SpecMismatch):  # the OpenAPI file puts maxLength 4096 on the raw text: stricter than Telegram
        check_request(TELEGRAM, "post", f"/bot{TOKEN}/sendMessage",
                      {"chat_id": COUNCIL, "text": raw, "parse_mode": "HTML"})


@pytest.mark.parametrize(("text", "accepted"), [
    ("x" * 4096, True), ("x" * 4097, False), (f"<b>{'x' * 4097}</b>", False),
    ("😀" * 2048, True), ("😀" * 2049, False), ("é" * 4096, True),
])
async def test_length_limit(tg: FakeTelegram, http: aiohttp.ClientSession, text: str, accepted: bool) -> None:
    answer = await send(http, tg, text, parse_mode="HTML")
    if accepted:
        assert spec("sendMessage", answer)["result"]["message_id"] == 1
    else:
        assert error(answer) == (400, "Bad Request: message is too long")
        assert tg.messages == []


# --- the HTML parser ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("tag", "kind"), [
    ("b", "bold"), ("strong", "bold"), ("i", "italic"), ("em", "italic"), ("u", "underline"), ("ins", "underline"),
    ("s", "strikethrough"), ("strike", "strikethrough"), ("del", "strikethrough"), ("tg-spoiler", "spoiler"),
    ("code", "code"), ("pre", "pre"), ("blockquote", "blockquote"), ("B", "bold"), ("STRONG", "bold"),
])
def test_html_tags(tag: str, kind: str) -> None:
    assert parse_html(f"a <{tag}>ü😀c</{tag}> d") == ("a ü😀c d", [{"offset": 2, "length": 4, "type": kind}])


@pytest.mark.parametrize(("html", "entity"), [
    ('<span class="tg-spoiler">x</span>', {"type": "spoiler"}),
    ("<blockquote expandable>x</blockquote>", {"type": "expandable_blockquote"}),
    ('<a href="https://coop.example/vote?id=3">x</a>', {"type": "text_link", "url": "https://coop.example/vote?id=3"}),
    ("<a href='https://coop.example'>x</a>", {"type": "text_link", "url": "https://coop.example/"}),
    ('<a href="tg://user?id=42">x</a>', {"type": "text_mention", "user": {"id": 42, "is_bot": False,
                                                                         "first_name": ""}}),
    ('<tg-emoji emoji-id="5368324170671202286">x</tg-emoji>', {"type": "custom_emoji",
                                                               "custom_emoji_id": "5368324170671202286"}),
    ('<pre><code class="language-python">x</code></pre>', {"type": "pre", "language": "python"}),
    ('<code class="language-python">x</code>', {"type": "code"}),
])
def test_html_tags_with_attributes(html: str, entity: dict[str, Any]) -> None:
    assert parse_html(html) == ("x", [{"offset": 0, "length": 1, **entity}])


def test_links_without_href_or_that_telegram_cannot_use() -> None:
    assert parse_html("<a>coop.example</a>") == (
        "coop.example", [{"offset": 0, "length": 12, "type": "text_link", "url": "http://coop.example/"}])
    assert parse_html('<a href="localhost">x</a> <a href="ftp://coop.example">y</a>') == ("x y", [])


def test_nested_formatting_is_split_as_telegram_does() -> None:
    assert parse_html("<b>bold <i>both</i></b>") == ("bold both", [
        {"offset": 0, "length": 5, "type": "bold"}, {"offset": 5, "length": 4, "type": "bold"},
        {"offset": 5, "length": 4, "type": "italic"}])
    assert parse_html("<b>a <code>b</code> c</b>") == ("a b c", [
        {"offset": 0, "length": 2, "type": "bold"}, {"offset": 2, "length": 1, "type": "code"},
        {"offset": 4, "length": 1, "type": "bold"}])  # " c" loses its leading blank
    assert parse_html("<code><b>x</b></code>") == ("x", [{"offset": 0, "length": 1, "type": "code"}])
    assert parse_html("<b>a</b><b>b</b>") == ("ab", [{"offset": 0, "length": 2, "type": "bold"}])


@pytest.mark.parametrize(("html", "text"), [
    ("&lt;b&gt; &amp; &quot;q&quot;", '<b> & "q"'),
    ("&#60;&#x3E;&#128512;&#x1F600;", "<>😀😀"),
    ("&lt &amp &quot;x", '< & "x'),  # the semicolon is optional
    ("&nbsp; &copy; &LT; R&D & co", "&nbsp; &copy; &LT; R&D & co"),  # anything else stays literally
    ("&#0; &#x110000; &#99999999;", "&#0; &#x110000; &#99999999;"),
    ("<a href=\"https://x.example/?a=1&amp;b=2\">l</a>", "l"),
])
def test_html_character_references(html: str, text: str) -> None:
    assert parse_html(html)[0] == text


def test_entities_count_utf16_code_units() -> None:
    text, entities = parse_html("😀 <b>é😀x</b> <i>👍🏽</i>")
    assert text == "😀 é😀x 👍🏽"
    assert entities == [{"offset": 3, "length": 4, "type": "bold"}, {"offset": 8, "length": 4, "type": "italic"}]


def test_blanks_are_trimmed_from_the_text_and_the_entities() -> None:
    assert parse_html("\n  <b> hi</b> there \n") == ("hi there", [{"offset": 0, "length": 2, "type": "bold"}])
    assert parse_html("<i> </i>x") == ("x", [])
    assert parse_html("\t<b>\tx</b>\t") == ("\t\tx\t", [{"offset": 1, "length": 2, "type": "bold"}])  # tabs stay
    assert parse_html("a\r\nb\x07c") == ("a\nb c", [])
    assert parse_html("<b> </b>") == ("", [])


@pytest.mark.parametrize(("html", "problem"), [
    ("line<br>next", 'Unsupported start tag "br" at byte offset 4'),
    ("héllo<br/>", 'Unsupported start tag "br/" at byte offset 6'),  # é is two bytes
    ("😀<p>x</p>", 'Unsupported start tag "p" at byte offset 4'),
    ("2 < 3", 'Unsupported start tag "" at byte offset 2'),
    ("2<3", "Unclosed start tag at byte offset 1"),
    ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b><i>x</i>", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ("<a href=https://x>y</a>", "Unexpected end of name token at byte offset 8"),
    ("<b x", 'Unclosed start tag "b" at byte offset 0'),
    ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
])
def test_html_errors(html: str, problem: str) -> None:
    with pytest.raises(TelegramHtmlError) as raised:
        parse_html(html)
    assert raised.value.description == f"Bad Request: can't parse entities: {problem}"


async def test_html_errors_over_http(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    answer = await send(http, tg, "Résumé: 1 <br> 2", parse_mode="HTML")
    assert error(answer) == (400, 'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 12')


# --- flood control -----------------------------------------------------------------------------------------

@pytest.fixture
async def strict(clock: ManualClock) -> AsyncIterator[FakeTelegram]:
    second = FakeChat(-1009, "supergroup", title="Board")
    async with FakeTelegram(chats=[DEFAULT_CHAT, second], per_minute=3, window=10.0, clock=clock) as fake:
        yield fake


def too_many(answer: Answer, seconds: int) -> None:
    assert answer.status == 429 and answer.headers["Retry-After"] == str(seconds)
    assert json.loads(answer.raw) == {"ok": False, "error_code": 429,
                                      "description": f"Too Many Requests: retry after {seconds}",
                                      "parameters": {"retry_after": seconds}}
    spec("sendMessage", answer)


async def test_flood_limit_per_chat_and_window(strict: FakeTelegram, http: aiohttp.ClientSession,
                                               clock: ManualClock) -> None:
    for _ in range(3):
        assert (await send(http, strict, "x")).status == 200
        clock.advance(1)
    clock.advance(-0.5)  # t = 1002.5; sends at 1000, 1001, 1002
    too_many(await send(http, strict, "x"), 8)  # the first slot frees at 1010
    assert (await send(http, strict, "x", chat_id=-1009)).status == 200  # other chats have their own budget
    clock.now = 1010.5
    assert (await send(http, strict, "x")).status == 200
    clock.now = 1010.6
    too_many(await send(http, strict, "x"), 1)  # 1001 + 10 - 1010.6 = 0.4, rounded up
    assert [m.chat_id for m in strict.messages] == [COUNCIL] * 3 + [-1009, COUNCIL]
    assert [r.status for r in strict.requests] == [200, 200, 200, 429, 200, 200, 429]
    assert strict.early_requests == []  # each retry came after the wait it was told


async def test_early_retries_are_recorded_and_refused(strict: FakeTelegram, http: aiohttp.ClientSession,
                                                      clock: ManualClock) -> None:
    for _ in range(3):
        await send(http, strict, "x")
    too_many(await send(http, strict, "x"), 10)  # told at 1000 to wait until 1010
    clock.advance(4)
    too_many(await send(http, strict, "early", chat_id="@coopcouncil"), 6)
    assert [(e.chat_id, e.at, e.retry_until, e.params["text"]) for e in strict.early_requests] == [
        (COUNCIL, 1004.0, 1010.0, "early")]
    clock.now = 1010.0
    assert (await send(http, strict, "on time")).status == 200
    assert len(strict.early_requests) == 1 and len(strict.messages) == 4


async def test_scripted_flood(tg: FakeTelegram, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    tg.flood(retry_after=5, times=2)
    too_many(await send(http, tg, "first try"), 5)
    clock.advance(5)
    too_many(await send(http, tg, "second try"), 5)
    clock.advance(5)
    assert spec("sendMessage", await send(http, tg, "third try"))["result"]["text"] == "third try"
    assert [m.text for m in tg.messages] == ["third try"] and tg.early_requests == []
    tg.flood(3)
    too_many(await send(http, tg, "a"), 3)
    clock.advance(2.9)
    too_many(await send(http, tg, "b"), 1)  # still waiting: answered with what is left
    assert [e.params["text"] for e in tg.early_requests] == ["b"]


async def test_scripted_flood_skips_requests_that_fail_anyway(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    tg.flood(7)
    assert error(await send(http, tg, "")) == (400, "Bad Request: message text is empty")
    too_many(await send(http, tg, "x"), 7)


# --- failure modes -----------------------------------------------------------------------------------------

async def test_down_answers_502_from_the_proxy(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    tg.down = True
    answer = await send(http, tg, "x")
    assert (answer.status, answer.headers["Content-Type"]) == (502, "text/html")
    assert b"Bad Gateway" in answer.raw
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.raw)
    tg.down = False
    assert (await send(http, tg, "back")).status == 200
    assert [(r.status, r.method) for r in tg.requests] == [(502, "sendMessage"), (200, "sendMessage")]
    assert [m.text for m in tg.messages] == ["back"]


async def test_down_reset_drops_the_connection(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    tg.down = "reset"
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await send(http, tg, "x")
    tg.down = False
    assert (await send(http, tg, "back")).status == 200
    assert [r.status for r in tg.requests] == [0, 200] and len(tg.messages) == 1


async def test_refuse_markup(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    tg.refuse_markup = True
    code, description = error(await send(http, tg, "<b>fine</b>", parse_mode="HTML"))
    assert code == 400 and description.startswith("Bad Request: can't parse entities: ")
    assert spec("sendMessage", await send(http, tg, "<b>plain</b>"))["result"]["text"] == "<b>plain</b>"
    assert [m.text for m in tg.messages] == ["<b>plain</b>"]


# --- waiting ----------------------------------------------------------------------------------------------

async def test_wait_for_messages(tg: FakeTelegram, http: aiohttp.ClientSession) -> None:
    waiting = asyncio.create_task(tg.wait_for_messages(2, chat_id=COUNCIL))
    await send(http, tg, "one")
    await send(http, tg, "private", chat_id=42)
    await asyncio.sleep(0)  # one turn of the loop: the waiter sees the messages so far and must not finish
    assert not waiting.done()
    await send(http, tg, "two")
    messages = await asyncio.wait_for(waiting, 5)
    assert [m.text for m in messages] == ["one", "two"]
    assert [m.text for m in await tg.wait_for_messages(3)] == ["one", "private", "two"]
    with pytest.raises(TimeoutError):
        await tg.wait_for_messages(2, chat_id="@ana_coop", timeout=0.05)
