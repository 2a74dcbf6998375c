"""REST side of the fake Mattermost: ``/api/v4/...`` routes and the HTTP front.

The front middleware counts requests per route template, plays the outage
and rate-limit modes the server is switched into, and renders ``ApiError`` as
the server's ``AppError`` JSON (``id``, ``message``, ``detailed_error``,
``request_id``, ``status_code``). Handlers check what ``api4/*.go`` checks, in
the same order where it matters for the status code.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes._mattermost_store import MAX_MESSAGE_RUNES, Channel, Post, Store, Team, User, go_json
from tests.fakes.ids import is_valid_id, new_id

if TYPE_CHECKING:
    from tests.fakes.mattermost import FakeMattermost

__all__ = ["ApiError", "RestApi", "SERVER_VERSION", "check_root"]

SERVER_VERSION = "10.11.0.20251119.5c8a3b0e7f1d4e2a9b6c0d3f8e7a1b2c.false"
PER_PAGE_DEFAULT, PER_PAGE_MAX = 60, 200
ARRIVED_PERF = web.RequestKey("arrived_perf", float)
_EMOJI_NAME = re.compile(r"^[a-zA-Z0-9\-+_]{1,64}$")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """Answered as the server's ``AppError`` JSON."""

    def __init__(self, status: int, err_id: str, message: str, *, detailed: str = "",
                 with_request_id: bool = True) -> None:
        super().__init__(message)
        self.status, self.err_id, self.message = status, err_id, message
        self.detailed, self.with_request_id = detailed, with_request_id


def _invalid_param(name: str) -> ApiError:
    return ApiError(400, "api.context.invalid_param.app_error", f"Invalid {name} parameter.")


def _invalid_url_param(name: str) -> ApiError:
    return ApiError(400, "api.context.invalid_url_param.app_error",
                    f"Invalid or missing {name} parameter in request URL.")


_UNAUTHORIZED = (401, "api.context.session_expired.app_error",
                 "Invalid or expired session, please login again.")
_FORBIDDEN = (403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
_NO_USER = (404, "app.user.missing_account.const", "Unable to find the user.")
_NO_CHANNEL = (404, "app.channel.get.existing.app_error", "Unable to find the existing channel.")
_NO_POST = (404, "app.post.get.app_error", "Unable to get the post.")
_PROXY_503 = ("<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
              "<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
              "</body>\r\n</html>\r\n")


def _app_error(err: ApiError, request_id: str) -> web.Response:
    body: dict[str, Any] = {"id": err.err_id, "message": err.message, "detailed_error": err.detailed}
    if err.with_request_id:
        body["request_id"] = request_id
    body["status_code"] = err.status
    return _json(body, err.status)


def check_root(store: Store, root_id: str, channel: Channel) -> Post:
    """A reply's ``root_id`` must name a root post of the same channel."""
    root = store.posts.get(root_id)
    if root is None or root.channel_id != channel.id or root.root_id:
        raise ApiError(400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter.")
    return root


class RestApi:
    """Route handlers over the server's state; ``front`` is the app's middleware."""

    def __init__(self, server: FakeMattermost) -> None:
        self._server = server

    @property
    def store(self) -> Store:
        return self._server.store

    @property
    def team(self) -> Team:
        return self._server.team

    @web.middleware
    async def front(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        arrived = time.perf_counter()
        request[ARRIVED_PERF] = arrived
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else request.path
        response = await self._answer(request, handler)
        self._server.record_request(request.method, route, request.path, response.status, arrived)
        return response

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._server.down_mode == "503":
            return web.Response(status=503, content_type="text/html", text=_PROXY_503)  # the proxy's
        request_id = new_id()
        headers: dict[str, str] = {}
        limited = self._server.rate_check(headers)
        response: web.StreamResponse
        if limited is not None:
            response = limited
        else:
            try:
                response = await handler(request)
            except ApiError as err:
                response = _app_error(err, request_id)
            except web.HTTPNotFound:
                response = _app_error(ApiError(
                    404, "api.context.404.app_error", "Sorry, we could not find the page.",
                    detailed=f"There doesn't appear to be an api call for the url='{request.path}'."
                             "  Typo? are you missing a team_id or user_id as part of the url?",
                    with_request_id=False), request_id)
            except web.HTTPMethodNotAllowed:
                response = web.Response(status=405)  # gorilla/mux's bare 405
        if not response.prepared:  # a WebSocket upgrade has already sent its headers
            response.headers.update(headers)
            response.headers["X-Request-Id"] = request_id
            response.headers["X-Version-Id"] = SERVER_VERSION
            if request.method == "GET":
                response.headers["Expires"] = "0"
        return response

    def _session(self, request: web.Request) -> User:
        token = _token_of(request)
        user = self.store.user_for_token(token) if token else None
        if user is None:
            raise ApiError(*_UNAUTHORIZED)
        return user

    def _readable(self, user: User, channel: Channel) -> bool:
        return user.id in channel.members or (channel.type == "O" and user.id in self.team.members)

    def _channel_for(self, user: User, channel_id: str) -> Channel:
        if not is_valid_id(channel_id):
            raise _invalid_url_param("channel_id")
        channel = self.store.channels.get(channel_id)
        if channel is None:
            raise ApiError(*_NO_CHANNEL)
        if not self._readable(user, channel):
            raise ApiError(*_FORBIDDEN)
        return channel

    def _post_for(self, user: User, post_id: str) -> Post:
        if not is_valid_id(post_id):
            raise _invalid_url_param("post_id")
        post = self.store.posts.get(post_id)
        if post is None:
            raise ApiError(*_NO_POST)
        if not self._readable(user, self.store.channels[post.channel_id]):
            raise ApiError(*_FORBIDDEN)
        return post

    # --- REST routes ------------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        v4 = "/api/v4"
        app.router.add_post(f"{v4}/users/login", self._login)
        app.router.add_post(f"{v4}/users/ids", self._users_by_ids)
        app.router.add_get(f"{v4}/users/username/{{username}}", self._user_by_name)
        app.router.add_get(f"{v4}/users/{{user_id}}/teams/{{team_id}}/channels", self._my_channels)
        app.router.add_get(f"{v4}/users/{{user_id}}", self._get_user)
        app.router.add_get(f"{v4}/teams/name/{{team_name}}", self._team_by_name)
        app.router.add_get(f"{v4}/teams/{{team_id}}/channels/name/{{channel_name}}", self._channel_by_name)
        app.router.add_post(f"{v4}/channels/direct", self._create_direct)
        app.router.add_get(f"{v4}/channels/{{channel_id}}/posts", self._channel_posts)
        app.router.add_get(f"{v4}/channels/{{channel_id}}", self._get_channel)
        app.router.add_post(f"{v4}/posts", self._create_post)
        app.router.add_get(f"{v4}/posts/{{post_id}}/thread", self._thread)
        app.router.add_get(f"{v4}/posts/{{post_id}}", self._get_post)
        app.router.add_post(f"{v4}/reactions", self._add_reaction)
        app.router.add_get(f"{v4}/websocket", self._websocket)
        app.router.add_post("/hooks/commands/{hook_id}", self._server.slash.handle_response_url)

    async def _login(self, request: web.Request) -> web.Response:
        body = await _body(request, "login_id")
        login_id = str(body.get("login_id", "")).lower() if isinstance(body, dict) else ""
        user = next((u for u in self.store.users.values()
                     if login_id in (u.username, u.email)), None)
        if user is None or user.password is None or body.get("password") != user.password:
            raise ApiError(401, "api.user.login.invalid_credentials_email_username",
                           "Enter a valid email or username and/or password.")
        token = self.store.new_token(user)
        response = _json(user.to_json(as_self=True), 200, {"Token": token})  # 200, not the spec's 201
        response.set_cookie("MMAUTHTOKEN", token, httponly=True, path="/")
        response.set_cookie("MMUSERID", user.id, path="/")
        response.set_cookie("MMCSRF", new_id(), path="/")
        return response

    async def _get_user(self, request: web.Request) -> web.Response:
        me = self._session(request)
        user_id = request.match_info["user_id"]
        if user_id == "me":
            return _json(me.to_json(as_self=True))
        if not is_valid_id(user_id):
            raise _invalid_url_param("user_id")
        user = self.store.users.get(user_id)
        if user is None:
            raise ApiError(*_NO_USER)
        return _json(user.to_json(as_self=user.id == me.id))

    async def _users_by_ids(self, request: web.Request) -> web.Response:
        me = self._session(request)
        ids = await _body(request, "user_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise _invalid_param("user_ids")
        found = [self.store.users[i] for i in dict.fromkeys(ids) if i in self.store.users]
        return _json([u.to_json(as_self=u.id == me.id) for u in found])

    async def _user_by_name(self, request: web.Request) -> web.Response:
        me = self._session(request)
        user = self.store.user_by_name(request.match_info["username"])
        if user is None:
            raise ApiError(404, "app.user.get_by_username.app_error",
                           "Unable to find an existing account matching your username for this "
                           "team. This team may require an invite from the team owner to join.")
        return _json(user.to_json(as_self=user.id == me.id))

    async def _team_by_name(self, request: web.Request) -> web.Response:
        me = self._session(request)
        team = self.store.team_by_name(request.match_info["team_name"])
        if team is None:
            raise ApiError(404, "app.team.get_by_name.missing.app_error", "Unable to find the existing team.")
        if me.id not in team.members:
            raise ApiError(*_FORBIDDEN)
        return _json(team.to_json())

    async def _channel_by_name(self, request: web.Request) -> web.Response:
        me = self._session(request)
        team_id = request.match_info["team_id"]
        if not is_valid_id(team_id):
            raise _invalid_url_param("team_id")
        channel = self.store.channel_by_name(team_id, request.match_info["channel_name"])
        if channel is None or not self._readable(me, channel):
            raise ApiError(404, "app.channel.get_by_name.missing.app_error", "Channel does not exist.")
        return _json(channel.to_json())

    async def _my_channels(self, request: web.Request) -> web.Response:
        me = self._session(request)
        user_id, team_id = request.match_info["user_id"], request.match_info["team_id"]
        if user_id not in ("me", me.id):
            raise ApiError(*_FORBIDDEN)
        if not is_valid_id(team_id):
            raise _invalid_url_param("team_id")
        mine = [c for c in self.store.channels.values()
                if me.id in c.members and (c.team_id == team_id or c.type in ("D", "G"))]
        return _json([c.to_json() for c in mine])

    async def _get_channel(self, request: web.Request) -> web.Response:
        me = self._session(request)
        return _json(self._channel_for(me, request.match_info["channel_id"]).to_json())

    async def _create_direct(self, request: web.Request) -> web.Response:
        me = self._session(request)
        ids = await _body(request, "user_ids")
        if not isinstance(ids, list) or len(ids) != 2 or not all(isinstance(i, str) for i in ids):
            raise _invalid_param("user_ids")
        if not all(is_valid_id(i) for i in ids):
            raise _invalid_param("user_id")
        if me.id not in ids:
            raise ApiError(*_FORBIDDEN)
        if not all(i in self.store.users for i in ids):
            raise ApiError(400, "api.channel.create_direct_channel.invalid_user.app_error",
                           "Invalid user ID for direct channel creation.")
        return _json(self.store.direct_channel(ids[0], ids[1]).to_json(), 201)

    async def _channel_posts(self, request: web.Request) -> web.Response:
        me = self._session(request)
        channel = self._channel_for(me, request.match_info["channel_id"])
        query = request.query
        after, before = query.get("after", ""), query.get("before", "")
        for name, value in (("after", after), ("before", before)):
            if value and not is_valid_id(value):
                raise _invalid_param(name)
        since = 0
        if query.get("since"):
            try:
                since = int(query["since"])
            except ValueError:
                raise _invalid_param("since") from None
        page = _int_param(query.get("page"), 0, None)
        per_page = _int_param(query.get("per_page"), PER_PAGE_DEFAULT, PER_PAGE_MAX)
        threads = query.get("skipFetchThreads", "").lower() != "true"
        if since > 0:  # since wins over after/before and ignores paging, as in api4/post.go
            return _json(self.store.posts_since(channel.id, since))
        if after:
            return _json(self.store.posts_after(channel.id, after, page, per_page, threads))
        if before:
            return _json(self.store.posts_before(channel.id, before, page, per_page, threads))
        return _json(self.store.posts_page(channel.id, page, per_page, threads))

    async def _create_post(self, request: web.Request) -> web.Response:
        me = self._session(request)
        body = await _body(request, "post")
        if not isinstance(body, dict):
            raise _invalid_param("post")
        channel = self.store.channels.get(str(body.get("channel_id", "")))
        if channel is None or not (me.id in channel.members
                                   or (channel.type == "O" and me.id in self.team.members)):
            raise ApiError(*_FORBIDDEN)
        message = body.get("message", "")
        if not isinstance(message, str) or len(message) > MAX_MESSAGE_RUNES:
            raise ApiError(400, "model.post.is_valid.message_length.app_error",
                           f"Invalid Message property. Length must be at most {MAX_MESSAGE_RUNES}.")
        root_id = str(body.get("root_id") or "")
        if root_id:
            check_root(self.store, root_id, channel)
        props = body.get("props") if isinstance(body.get("props"), dict) else None
        pending_post_id = str(body.get("pending_post_id", ""))
        repeated = self.store.repeated_post(pending_post_id, int(self._server.pending_post_window * 1000))
        if repeated is not None:  # a resend within the window: the post already made, nothing new
            return _json(self.store.post_json(repeated, echo_pending=True), 201)
        post = self.store.create_post(user=me, channel=channel, message=message, root_id=root_id,
                                      props=props, pending_post_id=pending_post_id,
                                      request_perf=request[ARRIVED_PERF])
        await self._server.announce_post(post)
        return _json(self.store.post_json(post, echo_pending=True), 201)

    async def _get_post(self, request: web.Request) -> web.Response:
        me = self._session(request)
        post = self._post_for(me, request.match_info["post_id"])
        return _json(self.store.post_json(post))

    async def _thread(self, request: web.Request) -> web.Response:
        me = self._session(request)
        return _json(self.store.thread(self._post_for(me, request.match_info["post_id"])))

    async def _add_reaction(self, request: web.Request) -> web.Response:
        me = self._session(request)
        body = await _body(request, "reaction")
        if not isinstance(body, dict):
            raise _invalid_param("reaction")
        post = self.store.posts.get(str(body.get("post_id", "")))
        if body.get("user_id") != me.id or post is None \
                or not self._readable(me, self.store.channels[post.channel_id]):
            raise ApiError(*_FORBIDDEN)
        emoji = body.get("emoji_name")
        if not isinstance(emoji, str) or not _EMOJI_NAME.match(emoji):
            raise ApiError(400, "model.reaction.is_valid.emoji_name.app_error", "Invalid emoji name.")
        return _json(await self._server.user_reacts(me, post.id, emoji), 201)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        token = _token_of(request)
        return await self._server.hub.serve(
            request, self._server.user_id_for_token(token) if token else None)


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON as Go's ``json.NewEncoder(w).Encode`` writes it; Content-Type exactly ``application/json``."""
    return web.Response(status=status, body=(go_json(payload) + "\n").encode(),
                        headers={"Content-Type": "application/json", **(headers or {})})


def _token_of(request: web.Request) -> str | None:
    """``Authorization: Bearer|Token <t>`` or the ``MMAUTHTOKEN`` cookie."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return request.cookies.get("MMAUTHTOKEN") or None


async def _body(request: web.Request, name: str) -> Any:
    try:
        return json.loads(await request.read() or b"null")
    except ValueError:
        raise ApiError(400, "api.context.invalid_body_param.app_error",
                       f"Invalid or missing {name} in request body.") from None


def _int_param(raw: str | None, default: int, maximum: int | None) -> int:
    """``c.Params`` parsing: bad or negative values fall back to the default, big ones are capped."""
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    if value < 0:
        return default
    return min(value, maximum) if maximum is not None else value
