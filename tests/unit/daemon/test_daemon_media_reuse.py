"""The upload cache of campaign files: reused while young, forgotten when old or crowded."""

from __future__ import annotations

from daemon.client.media_message import UploadedMedia
from daemon.client.media_service import ReusableUpload
from daemon.client.media_upload import UploadResult
from daemon.media_reuse import ReuseKey, UploadReuse


def upload(at: int) -> ReusableUpload:
    uploaded = UploadedMedia("https://m/x", "/x", "h", b"k" * 32, b"s" * 32, b"e" * 32, 10)
    return ReusableUpload(UploadResult(uploaded, "ab/cd"), at)


def key(n: int) -> ReuseKey:
    return ReuseKey("s1", f"/state/outgoing/campaigns/cmp_{n}", "ab" * 32, "image")


def test_an_upload_is_reused_until_it_is_too_old() -> None:
    now = [1000.0]
    cache = UploadReuse(reuse_for_s=60, clock=lambda: now[0])
    assert cache.get(key(1)) is None
    cache.put(key(1), upload(1000))
    assert cache.get(key(1)) == upload(1000)
    assert cache.get(ReuseKey("s2", key(1).path, key(1).sha256, "image")) is None
    assert cache.get(ReuseKey("s1", key(1).path, key(1).sha256, "sticker")) is None
    now[0] = 1060.0
    assert cache.get(key(1)) is None and len(cache) == 0


def test_the_least_recently_used_upload_makes_room() -> None:
    cache = UploadReuse(max_entries=2, clock=lambda: 0.0)
    cache.put(key(1), upload(0))
    cache.put(key(2), upload(0))
    assert cache.get(key(1)) is not None
    cache.put(key(3), upload(0))
    assert cache.get(key(2)) is None
    assert cache.get(key(1)) is not None and cache.get(key(3)) is not None
