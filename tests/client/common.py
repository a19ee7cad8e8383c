"""Helpers shared by the client tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
import contextlib
from typing import Any

from aiohttp import web
import pytest

from custom_components.nezha.client import NezhaError
from tests.conftest import SECRETS, register_secret

CLIENT_LOGGER = "custom_components.nezha.client.v0"
LIST = "/api/v1/server/list"
DETAILS = "/api/v1/server/details"

WRONG_TOKEN = "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp"


register_secret(WRONG_TOKEN)


def assert_secret_free(*objects: object) -> None:
    """No token in the str/repr/args of the objects, nor in exception causes."""
    texts: list[str] = []
    for obj in objects:
        texts += [str(obj), repr(obj)]
        if isinstance(obj, BaseException):
            texts += [repr(arg) for arg in obj.args]
            cause = obj.__cause__ or obj.__context__
            while cause is not None:
                texts += [str(cause), repr(cause)]
                cause = cause.__cause__ or cause.__context__
    for secret in SECRETS:
        for text in texts:
            assert secret not in text


async def expect[E: NezhaError](exc_type: type[E], awaitable: Awaitable[Any]) -> E:
    """Await, assert the exact error type, and check it does not leak a token."""
    with pytest.raises(exc_type) as info:
        await awaitable
    assert type(info.value) is exc_type, f"{type(info.value).__name__} raised"
    assert_secret_free(info.value)
    return info.value


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port; yield its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def json_app(routes: dict[str, Any]) -> web.Application:
    """An app answering each path with a fixed JSON body (HTTP 200)."""

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(routes[request.path])

    app = web.Application()
    for path in routes:
        app.router.add_get(path, handler)
    return app


V1_BODIES: dict[str, Any] = {
    LIST: {"success": False, "error": "ApiErrorUnauthorized"},
    DETAILS: {"success": True, "data": []},
    "/api/v1/monitor/1": {"error": "record not found"},
}
