"""Campaign request validation and the ``{{name}}`` template: what is accepted, normalized,
de-duplicated and reported, and what is refused with a message naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest

from daemon.campaigns.requests import (
    CampaignInputError,
    content_request,
    content_variables,
    normalize_recipient,
    parse_campaign,
    parse_recipients,
    parse_start,
)
from daemon.campaigns.shapes import public_content
from daemon.campaigns.template import TemplateError, render, variables_of
from daemon.send_content import MediaAttachment, MediaSendKind, StagedFile

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TEXT = {"type": "text", "text": "Hi {{name}}, your code is {{ code }}"}


def campaign(**fields: Any) -> dict[str, Any]:
    return {"content": TEXT, "defaults": {"name": "there", "code": "-"}, **fields}


def test_a_campaign_with_every_option() -> None:
    draft = parse_campaign(
        campaign(
            name="October",
            ratePerMinute=12,
            jitterSeconds=2.5,
            scheduledAt="2026-12-07T11:30:00+01:00",
            window={"start": "09:00", "end": "18:00", "timeZone": "Europe/Berlin"},
        ),
        default_rate=10,
        now=NOW,
    )
    assert draft.name == "October" and draft.pacing.rate_per_minute == 12
    assert draft.pacing.jitter_s == 2.5
    assert draft.pacing.window is not None and draft.pacing.window.start == time(9, 0)
    assert draft.scheduled_at == datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
    assert draft.defaults == {"name": "there", "code": "-"}


def test_defaults_apply() -> None:
    draft = parse_campaign({"content": {"text": "hello"}}, default_rate=10, now=NOW)
    assert draft.pacing.rate_per_minute == 10 and draft.pacing.window is None
    assert draft.content == {"type": "text", "text": "hello"} and draft.scheduled_at is None


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (campaign(ratePerMinute=0), "ratePerMinute"),
        (campaign(ratePerMinute=1.5), "ratePerMinute"),
        (campaign(ratePerMinute=True), "ratePerMinute"),
        (campaign(scheduledAt="2026-12-07T08:59:59Z"), "past"),
        (campaign(scheduledAt="2026-12-07T10:00:00"), "offset"),
        (campaign(defaults={"nmae": "x"}), "unknown variable"),
        ({"content": {"text": "Hi {{first name}}"}}, "malformed placeholder"),
        ({"content": {"text": "Hi {{name}"}}, "malformed placeholder"),
        ({"content": {"text": "  "}}, "content.text"),
        ({"content": {"type": "poll", "text": "x"}}, "content.type"),
        ({"content": {"type": "image", "text": "x"}}, "unknown field"),
        ({}, "content"),
        (campaign(window={"start": "9:00", "end": "18:00", "timeZone": "UTC"}), "window.start"),
        (campaign(window={"start": "09:00", "end": "09:00", "timeZone": "UTC"}), "differ"),
        (campaign(window={"start": "09:00", "end": "18:00", "timeZone": "Nowhere/X"}), "zone"),
        (campaign(jitterSeconds=-1), "jitterSeconds"),
        (campaign(colour="red"), "unknown field"),
    ],
)
def test_bad_campaigns_are_refused_naming_the_problem(body: dict[str, Any], names: str) -> None:
    with pytest.raises(CampaignInputError, match=names):
        parse_campaign(body, default_rate=10, now=NOW)


def test_recipients_are_normalized_deduplicated_and_invalid_ones_reported() -> None:
    batch = parse_recipients(
        {
            "recipients": [
                "+1 (555) 000-1111",
                "15550001111@s.whatsapp.net",
                {"to": "15550002222", "variables": {"name": "Ann", "code": 7}},
                "123456789012345@lid",
                "0123",
                "120363000000000001@g.us",
                42,
                {"to": None},
            ]
        },
        frozenset({"name", "code"}),
        {"name": "there", "code": "-"},
    )
    assert [r.jid for r in batch.recipients] == [
        "15550001111@s.whatsapp.net",
        "15550002222@s.whatsapp.net",
        "123456789012345@lid",
    ]
    assert batch.recipients[1].variables == {"name": "Ann", "code": "7"}
    assert batch.duplicates == 1
    assert [(bad.index, bad.value) for bad in batch.invalid] == [
        (4, "0123"),
        (5, "120363000000000001@g.us"),
        (6, 42),
        (7, None),
    ]
    assert "person" in batch.invalid[1].reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"recipients": []}, "non-empty"),
        ({"recipients": "15550001111"}, "non-empty"),
        ({"recipients": [{"to": "15550001111", "variables": {"nam": "x"}}]}, "unknown variable"),
        ({"recipients": ["15550001111"], "extra": 1}, "unknown field"),
    ],
)
def test_bad_batches_are_refused_whole(body: dict[str, Any], message: str) -> None:
    with pytest.raises(CampaignInputError, match=message):
        parse_recipients(body, frozenset({"name"}), {"name": "there"})


def test_a_variable_without_a_value_or_default_refuses_the_batch() -> None:
    with pytest.raises(CampaignInputError, match="no value for code"):
        parse_recipients(
            {"recipients": [{"to": "15550001111", "variables": {"name": "Ann"}}]},
            frozenset({"name", "code"}),
            {},
        )


def test_normalize_recipient() -> None:
    assert normalize_recipient("+44 20 7946 0958") == "442079460958@s.whatsapp.net"
    assert normalize_recipient("15550001111:3@s.whatsapp.net") == "15550001111@s.whatsapp.net"
    with pytest.raises(ValueError, match="recipient"):
        normalize_recipient("hello")


def test_start_accepts_only_a_future_time() -> None:
    assert parse_start({}, NOW) is None
    assert parse_start({"scheduledAt": "2026-12-07T09:00:01Z"}, NOW) is not None
    with pytest.raises(CampaignInputError, match="past"):
        parse_start({"scheduledAt": "2026-12-07T09:00:00Z"}, NOW)


def test_template_substitutes_once_and_keeps_values_literal() -> None:
    template = "Dear {{name}}, {{ name }}! {{code}}"
    assert variables_of(template) == {"name", "code"}
    assert render(template, {"name": "{{code}}", "code": "1"}) == "Dear {{code}}, {{code}}! 1"
    assert variables_of("no placeholders, just } and {") == frozenset()


@pytest.mark.parametrize("template", ["{{", "a {{ b c }}", "{{1x}}", "x {{name}} {{"])
def test_malformed_templates_are_refused(template: str) -> None:
    with pytest.raises(TemplateError, match="malformed"):
        variables_of(template)


def test_values_lose_control_characters() -> None:
    batch = parse_recipients(
        {"recipients": [{"to": "15550001111", "variables": {"name": "A\x00n\x1bn\nB"}}]},
        frozenset({"name"}),
        {},
    )
    assert batch.recipients[0].variables == {"name": "Ann\nB"}


def test_location_and_contact_content() -> None:
    location = {
        "type": "location",
        "latitude": 52.52,
        "longitude": 13.405,
        "name": "Shop of {{name}}",
        "address": "Mitte",
    }
    draft = parse_campaign(
        {"content": location, "defaults": {"name": "Ann"}}, default_rate=10, now=NOW
    )
    request = content_request(draft.content, {"name": "Bo"}, "15550001111@s.whatsapp.net")
    assert request.location is not None and request.location.name == "Shop of Bo"
    assert request.to == "15550001111@s.whatsapp.net"
    card = {"type": "contact", "contacts": [{"name": "Desk", "phone": "+15550009999"}]}
    draft = parse_campaign({"content": card}, default_rate=10, now=NOW)
    request = content_request(draft.content, {}, "15550001111@s.whatsapp.net")
    assert [c.phone for c in request.contacts] == ["15550009999"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"type": "location", "latitude": 200, "longitude": 0}, "content"),
        ({"type": "contact", "contacts": []}, "contacts"),
        ({"type": "reply", "text": "x", "quotedId": "A"}, "content.type"),
        ({"type": "image", "url": "https://example.com/a.jpg"}, "needs its file"),
        ({"type": "text", "text": "x", "to": "15550001111"}, "no 'to'"),
        ({"type": "text", "text": "x", "colour": "red"}, "unknown field"),
    ],
)
def test_content_the_messages_api_would_refuse(content: dict[str, Any], message: str) -> None:
    with pytest.raises(CampaignInputError, match=message):
        parse_campaign({"content": content}, default_rate=10, now=NOW)


def test_a_text_that_grows_too_long_fails_that_recipient_only() -> None:
    content = {"type": "text", "text": "x{{name}}"}
    assert content_request(content, {"name": "y"}, "15550001111@s.whatsapp.net").text == "xy"
    with pytest.raises(CampaignInputError, match="longer"):
        content_request(content, {"name": "y" * 70_000}, "15550001111@s.whatsapp.net")


def image(path: str = "/state/outgoing/campaigns/cmp_1", caption: str = "") -> MediaAttachment:
    staged = StagedFile(path, "ab" * 32, 1234, "image/png")
    return MediaAttachment(
        MediaSendKind.IMAGE, staged, caption=caption, width=4, height=3, thumbnail=b"jpg"
    )


def test_a_media_campaign_shares_one_staged_file_and_fills_in_the_caption() -> None:
    body = {
        "content": {"type": "image", "caption": "For {{name}}", "url": "https://x.test/a.png"},
        "defaults": {"name": "you"},
    }
    draft = parse_campaign(body, default_rate=10, now=NOW, media=image(caption="For {{name}}"))
    assert "url" not in draft.content and draft.content["file"]["shared"] is True
    assert content_variables(draft.content) == {"name"}
    first = content_request(draft.content, {"name": "Ann"}, "+1 555 000 1111")
    second = content_request(draft.content, {"name": "Bo"}, "15550002222@s.whatsapp.net")
    assert first.media is not None and second.media is not None
    assert first.media.caption == "For Ann" and second.media.caption == "For Bo"
    assert first.media.file == second.media.file
    assert first.media.file.path == "/state/outgoing/campaigns/cmp_1"
    # The thumbnail is not copied into every recipient's request: it sits beside the file.
    assert first.media.shared and first.media.thumbnail == b""
    assert "thumbnail" not in draft.content and "thumbnail" not in first.payload()
    assert first.to == "15550001111@s.whatsapp.net"
    shown = public_content(draft.content)
    assert shown["file"] == {"sha256": "ab" * 32, "size": 1234, "mimetype": "image/png"}
    assert "thumbnail" not in shown and shown["caption"] == "For {{name}}"


def test_a_media_campaign_is_refused_without_its_file_or_with_the_wrong_one() -> None:
    with pytest.raises(CampaignInputError, match="needs its file"):
        parse_campaign({"content": {"type": "video"}}, default_rate=10, now=NOW)
    with pytest.raises(CampaignInputError, match="staged as image"):
        parse_campaign({"content": {"type": "video"}}, default_rate=10, now=NOW, media=image())
    with pytest.raises(CampaignInputError, match="not with text"):
        parse_campaign(
            {"content": TEXT, "defaults": {"name": "a", "code": "b"}},
            default_rate=10,
            now=NOW,
            media=image(),
        )


def test_a_caption_that_grows_too_long_fails_that_recipient_only() -> None:
    draft = parse_campaign(
        {"content": {"type": "image", "caption": "x{{name}}"}, "defaults": {"name": "y"}},
        default_rate=10,
        now=NOW,
        media=image(caption="x{{name}}"),
    )
    with pytest.raises(CampaignInputError, match="caption"):
        content_request(draft.content, {"name": "y" * 5000}, "15550001111@s.whatsapp.net")
