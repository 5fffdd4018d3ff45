"""Presigned upload and export URLs are signed with SigV4: S3 buckets created since 2020 refuse
SigV2, which boto3 would otherwise use in regions such as eu-west-1 (moto accepts either)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from test_mapping_api import add_listings


def signed_with_sigv4(url: str) -> bool:
    query = parse_qs(urlsplit(url).query)
    return query.get("X-Amz-Algorithm") == ["AWS4-HMAC-SHA256"] and "Signature" not in query


def test_given_a_catalogue_upload_url_when_asked_then_it_is_signed_with_sigv4(api):
    channel = api.post("/channels", {"name": "Amazon UK", "type": "amazon"}).body["channel_id"]

    answer = api.post(f"/channels/{channel}/catalogue/upload-url", {"filename": "listings.csv"})

    assert answer.status == 201 and signed_with_sigv4(answer.body["url"]), answer.body["url"]


def test_given_an_export_too_large_to_answer_inline_when_asked_then_its_link_is_signed_with_sigv4(api, monkeypatch):
    from stocksync.api import mapping as mapping_api

    monkeypatch.setattr(mapping_api, "EXPORT_INLINE_ROWS", 1)
    channel = api.post("/channels", {"name": "Amazon UK", "type": "amazon"}).body["channel_id"]
    add_listings(channel, {"sku": "A"}, {"sku": "B"})

    answer = api.get(f"/channels/{channel}/mapping/export")

    assert answer.status == 303 and signed_with_sigv4(answer.body["url"]), answer.body["url"]
