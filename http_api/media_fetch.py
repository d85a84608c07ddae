"""Downloading a file a send names by ``url``: http or https only, a time limit over the whole
download, a size limit counted while streaming, redirects followed by hand (each hop checked),
and no loopback, private, link-local or otherwise internal address unless the operator allows
it (``[media] allow_private_urls``): the daemon must not become a way into its own network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from yarl import URL

from daemon.config import MediaSendConfig
from http_api.problems import Problem

CHUNK = 64 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})

Sink = Callable[[bytes], Awaitable[None]]
"""Takes each chunk as it arrives (raises a Problem to stop, e.g. over the size limit)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    declared_mimetype: str | None
    """The server's Content-Type (trusted only for documents)."""
    file_name: str
    """The last path segment of the final URL."""


def _refused(detail: str) -> Problem:
    return Problem(400, "url-not-allowed", detail)


def is_internal_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def _check_host(url: URL, allow_private: bool) -> None:
    if url.scheme not in ("http", "https"):
        raise _refused("only http:// and https:// URLs can be fetched")
    host = url.raw_host
    if not host:
        raise _refused("the URL has no host")
    if allow_private:
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, url.port or 0, type=socket.SOCK_STREAM)
    except OSError:
        raise Problem(502, "url-fetch-failed", f"cannot resolve {host}") from None
    if any(is_internal_address(str(info[4][0])) for info in infos):
        raise _refused(f"{host} is an internal address; set [media] allow_private_urls to allow")


async def fetch(raw_url: str, sink: Sink, limit: int, config: MediaSendConfig) -> Fetched:
    """Streams the body of ``raw_url`` into ``sink``; raises a Problem (400 url-not-allowed,
    413 media-too-large, 502 url-fetch-failed, 504 url-timeout)."""
    try:
        url = URL(raw_url)
    except ValueError:
        raise _refused("'url' is not a valid URL") from None
    if not url.is_absolute():
        raise _refused("'url' must be an absolute http:// or https:// URL")
    timeout = aiohttp.ClientTimeout(total=config.url_timeout_s)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            for _hop in range(config.url_max_redirects + 1):
                await _check_host(url, config.allow_private_urls)
                async with http.get(url, allow_redirects=False) as response:
                    if response.status in REDIRECTS and "Location" in response.headers:
                        url = url.join(URL(response.headers["Location"]))
                        continue
                    if response.status != 200:
                        raise Problem(
                            502, "url-fetch-failed", f"the URL answered {response.status}"
                        )
                    length = response.content_length
                    if length is not None and length > limit:
                        raise Problem(413, "media-too-large", f"the file is over {limit} bytes")
                    async for chunk in response.content.iter_chunked(CHUNK):
                        await sink(chunk)
                    declared = response.headers.get("Content-Type")
                    return Fetched(declared, url.name)
            raise Problem(502, "url-fetch-failed", "too many redirects")
    except TimeoutError:
        raise Problem(504, "url-timeout", "the URL did not deliver the file in time") from None
    except aiohttp.ClientError as exc:
        raise Problem(502, "url-fetch-failed", f"fetching the URL failed: {exc}") from None


__all__ = ["Fetched", "fetch"]
