"""The server extension as the frontend sees it: routes under /hpc-envs/api/ and their protection."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.routing import PathMatches, Rule

from jupyterlab_hpc_envs import __version__

API_PREFIX = "hpc-envs/api/"
VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def jp_server_config(jp_server_config):
    """No XSRF check: without it, only authentication can refuse a call without a token."""
    jp_server_config["ServerApp"]["disable_check_xsrf"] = True
    return jp_server_config


def _rules(router) -> Iterator[Rule]:
    """Every leaf rule of a tornado router, through nested routers (``add_handlers`` nests them)."""
    for rule in getattr(router, "rules", []):
        if hasattr(rule.target, "rules"):
            yield from _rules(rule.target)
        else:
            yield rule


SAMPLE_VALUES = ("sample", "1", "sample/path", "/sample")


def _fill_groups(pattern: str, value: str) -> str:
    """The path a route pattern matches when each of its top-level (groups) is ``value``."""
    out, depth, start = [], 0, 0
    for i, char in enumerate(pattern):
        if char == "(" and (i == 0 or pattern[i - 1] != "\\"):
            if depth == 0:
                out.append(pattern[start:i])
            depth += 1
        elif char == ")" and (i == 0 or pattern[i - 1] != "\\") and depth > 0:
            depth -= 1
            if depth == 0:
                out.append(value)
                start = i + 1
    out.append(pattern[start:])
    return "".join(out).rstrip("$").replace("\\", "")


def _api_routes(serverapp) -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    """(sample path, handler class) of every route the extension registered under the REST base."""
    base = serverapp.web_app.settings["base_url"] + API_PREFIX
    found = []
    for rule in _rules(serverapp.web_app.default_router):
        if not isinstance(rule.matcher, PathMatches):
            continue
        pattern = rule.matcher.regex.pattern
        if not pattern.startswith(re.escape(base)) and not pattern.startswith(base):
            continue
        paths = [_fill_groups(pattern, value) for value in SAMPLE_VALUES]
        path = next((p for p in paths if rule.matcher.regex.match(p)), None)
        assert path, f"cannot make a sample path for {pattern!r}: extend SAMPLE_VALUES"
        found.append((path, rule.target))
    return found


def _implemented_verbs(handler: type[tornado.web.RequestHandler]) -> list[str]:
    """The HTTP verbs a handler class answers itself (tornado's defaults answer 405)."""
    return [
        verb
        for verb in VERBS
        if getattr(handler, verb.lower()) is not getattr(tornado.web.RequestHandler, verb.lower())
    ]


async def test_info_reports_the_installed_version(jp_fetch):
    response = await jp_fetch("hpc-envs", "api", "info")

    assert response.code == 200
    assert json.loads(response.body) == {"name": "jupyterlab-hpc-envs", "version": __version__}


async def _calls_without_token(serverapp, client) -> dict[tuple[str, str], int]:
    """Call every verb of every route of the REST API without a token; the status of each call."""
    answers = {}
    for path, handler in _api_routes(serverapp):
        for verb in _implemented_verbs(handler):
            body = b"{}" if verb in ("POST", "PUT", "PATCH") else None
            response = await client.fetch(
                path, method=verb, body=body, raise_error=False, follow_redirects=False
            )
            answers[verb, path] = response.code
    return answers


async def test_no_handler_allows_unauthenticated_access(jp_serverapp, http_server_client):
    # Given the routes of the REST API (at least the info route)
    routes = [path for path, _ in _api_routes(jp_serverapp)]
    assert any(path.endswith("/hpc-envs/api/info") for path in routes), routes

    # When every verb of every route is called without a token
    answers = await _calls_without_token(jp_serverapp, http_server_client)

    # Then every call is refused
    assert answers
    allowed = {call: code for call, code in answers.items() if code not in (401, 403)}
    assert not allowed, f"reachable without authentication: {allowed}"


class _OpenHandler(APIHandler):
    """A handler that forgot ``@tornado.web.authenticated``."""

    def post(self) -> None:
        self.finish("{}")


async def test_the_authentication_check_finds_an_open_handler(jp_serverapp, http_server_client):
    # Given a route under the REST base whose POST is not authenticated
    base = url_path_join(jp_serverapp.web_app.settings["base_url"], API_PREFIX, "open/(.+)")
    jp_serverapp.web_app.add_handlers(".*$", [(base, _OpenHandler)])

    # When every verb of every route is called without a token
    answers = await _calls_without_token(jp_serverapp, http_server_client)

    # Then the open one is the call that got through
    allowed = [call for call, code in answers.items() if code not in (401, 403)]
    assert allowed == [("POST", url_path_join(jp_serverapp.base_url, API_PREFIX, "open/sample"))]
