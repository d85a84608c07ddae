"""media_conn answers and their cache; the content-addressed media store."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
from pathlib import Path

import pytest
from sync_fakes import iq_result

from daemon.binary import Node
from daemon.client.media_conn import (
    MediaConnCache,
    MediaHost,
    build_media_conn_iq,
    parse_media_conn,
)
from daemon.client.media_http import MediaHttp, MediaHttpOptions, file_token, scheme_for
from daemon.client.media_store import MediaStore, MediaStoreError, relative_path
from daemon.client.sync_errors import MediaConnError


def conn_answer(request: Node, **attrs: str) -> Node:
    values = {"auth": "tok", "ttl": "100", "auth_ttl": "50", "max_buckets": "12"}
    values.update(attrs)
    values = {k: v for k, v in values.items() if v}
    hosts = [Node("host", {"hostname": "mmg.whatsapp.net"}), Node("host", {"hostname": "alt:443"})]
    return iq_result(request, [Node("media_conn", values, hosts)])


def test_media_conn_request_and_answer() -> None:
    request = build_media_conn_iq()
    assert (request.attrs["xmlns"], request.attrs["type"]) == ("w:m", "set")
    assert request.child("media_conn") is not None
    conn = parse_media_conn(conn_answer(request), 1000.0)
    assert conn.auth == "tok" and [h.hostname for h in conn.hosts] == [
        "mmg.whatsapp.net",
        "alt:443",
    ]
    # Good until the shorter of the two TTLs.
    assert conn.expires_at == 1050.0 and conn.valid(1049.9) and not conn.valid(1050.0)
    for missing in ("auth", "ttl", "auth_ttl", "max_buckets"):
        with pytest.raises(MediaConnError, match="lacks"):
            parse_media_conn(conn_answer(request, **{missing: ""}), 0.0)
    no_hosts = iq_result(
        request,
        [Node("media_conn", {"auth": "a", "ttl": "1", "auth_ttl": "1", "max_buckets": "1"})],
    )
    with pytest.raises(MediaConnError, match="no host"):
        parse_media_conn(no_hosts, 0.0)
    with pytest.raises(MediaConnError, match="no media_conn"):
        parse_media_conn(iq_result(request), 0.0)


async def test_media_conn_cache_refreshes_after_its_ttl_once_for_all_waiters() -> None:
    now = [0.0]
    asked: list[Node] = []

    async def query(request: Node) -> Node:
        asked.append(request)
        await asyncio.sleep(0.01)
        return conn_answer(request)

    cache = MediaConnCache(lambda: now[0])
    first = await asyncio.gather(*(cache.get(query) for _ in range(5)))
    assert len(asked) == 1 and all(c is first[0] for c in first)
    now[0] = 49.0
    assert await cache.get(query) is first[0]
    now[0] = 50.0
    await cache.get(query)
    assert len(asked) == 2
    cache.invalidate()
    await cache.get(query)
    assert cache.fetches == 3


def test_urls() -> None:
    http = MediaHttp(MediaHttpOptions(scheme="https"))
    token = file_token(b"\xfb" * 32)
    assert "=" not in token and "+" not in token and "/" not in token
    hosts = [MediaHost("mmg.whatsapp.net"), MediaHost("alt:443")]
    upload = http.upload_url(hosts[0], "image", "a/b+c", token)
    assert upload == f"https://mmg.whatsapp.net/mms/image/{token}?auth=a%2Fb%2Bc&token={token}"
    urls = http.download_urls(
        hosts, "/v/t62/x.enc?ccb=1", token, "image", "https://cdn.example/v/x"
    )
    assert urls == [
        f"https://mmg.whatsapp.net/v/t62/x.enc?ccb=1&hash={token}&mms-type=image&__wa-mms=",
        f"https://alt:443/v/t62/x.enc?ccb=1&hash={token}&mms-type=image&__wa-mms=",
        f"https://cdn.example/v/t62/x.enc?ccb=1&hash={token}&mms-type=image&__wa-mms=",
    ]
    bare = http.download_urls(hosts[:1], "/v/x.enc", token, "audio", "")
    assert bare == [f"https://mmg.whatsapp.net/v/x.enc?hash={token}&mms-type=audio&__wa-mms="]
    assert scheme_for("ws://127.0.0.1:1/ws") == "http" and scheme_for("wss://w.a/ws") == "https"


def test_store_is_content_addressed_private_and_deduplicated(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    data = b"a photo" * 1000
    digest = hashlib.sha256(data).digest()
    relative, sha = store.write_bytes(data)
    assert sha == digest and relative == relative_path(digest)
    assert relative == f"{digest.hex()[:2]}/{digest.hex()}"
    path = store.path_of(relative)
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for directory in (tmp_path / "media", tmp_path / "media" / "tmp"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    # The same bytes again: same file, the new copy dropped, nothing left in tmp.
    assert store.write_bytes(data) == (relative, digest)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    assert store.copy_file(source, digest) == relative
    assert os.listdir(tmp_path / "media" / "tmp") == []
    assert store.read(relative) == data
    with pytest.raises(MediaStoreError, match="outside"):
        store.path_of("../../etc/passwd")
    with pytest.raises(MediaStoreError, match="missing"):
        store.read(relative_path(b"\x01" * 32))
    handle, temp = store.temp_file()
    handle.close()
    store.discard(temp)
    assert not temp.exists()
