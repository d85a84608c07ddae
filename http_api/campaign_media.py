"""The file of a media campaign, taken in when the campaign is created: a
``multipart/form-data`` body with a ``campaign`` part (the campaign as JSON, the same object
as the JSON create) and a ``file`` part, or a JSON body whose ``content.url`` is fetched once.
Either way the file goes through the messages API's checks (size limit → 413 while it
streams, mimetype from its bytes → 415, a thumbnail for images) and is staged once, at the
campaign's own path; the caller removes it when the campaign is not created after all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from daemon.campaigns.files import CampaignFiles
from daemon.config import Config
from daemon.outbox import MEDIA_KINDS
from daemon.send_content import MediaAttachment
from http_api.media_intake import (
    CHUNK,
    FIELDS,
    Staging,
    attachment_of,
    check_kind_limit,
    fetch_staged,
    limit_so_far,
    receive_file,
)
from http_api.problems import bad_request
from http_api.routes.common import read_json

CAMPAIGN_PART = "campaign"
MAX_CAMPAIGN_PART_BYTES = 256 * 1024
CONTENT_FIELDS = (FIELDS - {"to"}) | {"url"}


@dataclass(frozen=True, slots=True)
class CampaignBody:
    body: dict[str, Any]
    media: MediaAttachment | None
    """The staged file of a media campaign (None for text, locations, contact cards)."""


def _media_content(body: dict[str, Any]) -> dict[str, Any] | None:
    content = body.get("content")
    kind = content.get("type") if isinstance(content, dict) else None
    # isinstance first: an unhashable 'type' ({} or []) must be a 400 from the parser, not a
    # TypeError from the set lookup.
    if isinstance(content, dict) and isinstance(kind, str) and kind in MEDIA_KINDS:
        unknown = sorted(set(content) - CONTENT_FIELDS)
        if unknown:
            raise bad_request(f"unknown field(s) in 'content': {', '.join(unknown)}")
        return content
    return None


async def read_campaign(
    request: web.Request, config: Config, files: CampaignFiles, campaign_id: str
) -> CampaignBody:
    """The create body, with a media campaign's file staged at ``files.path_for(id)``."""
    if request.content_type == "multipart/form-data":
        return await _from_multipart(request, config, files.ensure_directory(), campaign_id)
    body = await read_json(request)
    content = _media_content(body)
    if content is None:
        return CampaignBody(body, None)
    if "url" not in content:
        raise bad_request(
            f"a {content['type']} campaign needs its file: send multipart/form-data with a "
            f"'{CAMPAIGN_PART}' part (this JSON) and a 'file' part, or give 'content.url'"
        )
    staging, fetched = await fetch_staged(content, files.ensure_directory(), config, campaign_id)
    media = await attachment_of(content, staging, fetched.declared_mimetype, fetched.file_name)
    return CampaignBody(body, media)


async def _campaign_json(part: BodyPartReader) -> dict[str, Any]:
    raw = b""
    while chunk := await part.read_chunk(CHUNK):
        raw += chunk
        if len(raw) > MAX_CAMPAIGN_PART_BYTES:
            raise bad_request(f"the '{CAMPAIGN_PART}' part is over {MAX_CAMPAIGN_PART_BYTES} bytes")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"the '{CAMPAIGN_PART}' part is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request(f"the '{CAMPAIGN_PART}' part must be a JSON object")
    return body


async def _from_multipart(
    request: web.Request, config: Config, directory: Path, campaign_id: str
) -> CampaignBody:
    body: dict[str, Any] | None = None
    staging: Staging | None = None
    declared: str | None = None
    file_name = ""
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise bad_request("nested multipart bodies are not supported")
            if part.name == CAMPAIGN_PART:
                if body is not None:
                    raise bad_request(f"send one '{CAMPAIGN_PART}' part")
                body = await _campaign_json(part)
            elif part.name == "file":
                if staging is not None:
                    raise bad_request("send one 'file' part")
                so_far = (_media_content(body) if body is not None else None) or {}
                staging = Staging(directory, limit_so_far(so_far, config.media), campaign_id)
                declared, file_name = await receive_file(part, staging)
            else:
                raise bad_request(
                    f"unknown form part {part.name!r} (send '{CAMPAIGN_PART}' and 'file')"
                )
        if body is None:
            raise bad_request(f"a '{CAMPAIGN_PART}' part (the campaign as JSON) is required")
        if staging is None:
            raise bad_request("a 'file' part is required")
        content = _media_content(body)
        if content is None:
            raise bad_request(
                "a file goes with 'content.type' image, video, audio, document or sticker"
            )
        if "url" in content:
            raise bad_request("give the file or 'content.url', not both")
    except ValueError as exc:
        # aiohttp's multipart reader says "malformed" with ValueError (no boundary, bad headers).
        if staging is not None:
            staging.discard()
        raise bad_request(f"the multipart body cannot be read: {exc}") from None
    except BaseException:
        if staging is not None:
            staging.discard()
        raise
    check_kind_limit(content, staging, config.media)
    return CampaignBody(body, await attachment_of(content, staging, declared, file_name))


__all__ = ["CAMPAIGN_PART", "CampaignBody", "read_campaign"]
