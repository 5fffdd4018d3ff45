"""Mapping on the local stack, over HTTP: a catalogue uploaded to its presigned URL is loaded and
auto-linked (the load's mapping-queue message runs the auto-mapper) within seconds, totals right."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

pytestmark = pytest.mark.e2e

WAIT_S = 30


def _wait_for(describe: str, check, local_stack, timeout_s: float = WAIT_S):
    """Call `check` until it returns something truthy; fail with its last answer and the stack's output."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last and last[0]:
            return last[1]
        time.sleep(0.25)
    tail = "\n".join(local_stack.output[-30:])
    pytest.fail(f"{describe}: not within {timeout_s} s; last seen: {last[1] if last else None}\n"
                f"local stack output (last lines):\n{tail}")


def test_given_items_when_a_catalogue_is_uploaded_then_its_listings_are_auto_linked_within_seconds(local_stack):
    http, api = local_stack.session(), local_stack.api_url
    run = uuid.uuid4().hex[:6].upper()
    skus = [f"MAPE2E-{run}-{n}" for n in (1, 2, 3)]
    item_ids = {}
    for sku in skus:
        created = http.post(f"{api}/items", json={"sku": sku, "title": f"Item {sku}"}, timeout=10)
        assert created.status_code == 201, created.text
        item_ids[sku] = created.json()["item_id"]
    channel = http.post(f"{api}/channels", json={"name": f"Mapping e2e {run}", "type": "generic"}, timeout=10)
    assert channel.status_code == 201, channel.text
    channel_id = channel.json()["channel_id"]
    unmatched = f"MAPE2E-{run}-NO-ITEM"
    rows = [(skus[0], "Exact SKU"), (skus[1].lower(), "Other case"), (f" {skus[2]} ", "Padded"),
            (unmatched, "Nothing to link to")]
    csv_text = "sku,title,price,quantity\n" + "".join(f'"{sku}",{title},9.99,4\n' for sku, title in rows)

    upload = http.post(f"{api}/channels/{channel_id}/catalogue/upload-url", json={"filename": "catalogue.csv"},
                       timeout=10)
    assert upload.status_code == 201, upload.text
    put = requests.put(upload.json()["url"], data=csv_text.encode(), timeout=10)
    assert put.status_code == 200, put.text

    def listings():
        page = http.get(f"{api}/channels/{channel_id}/listings", params={"limit": 200}, timeout=10)
        assert page.status_code == 200, page.text
        body = page.json()
        totals = {name: body["totals"][name] for name in ("active", "linked", "unlinked")}
        # A page is one Query: DynamoDB may show it part of a transaction still being applied (the
        # totals but not yet every link), so both must be seen together.
        links = sum(1 for row in body["listings"] if row["linked_item"])
        return totals == {"active": 4, "linked": 3, "unlinked": 1} and links == 3, body

    started = time.monotonic()
    body = _wait_for("the uploaded catalogue loaded and auto-linked (3 linked; totals active 4, linked 3, "
                     "unlinked 1)",
                     listings, local_stack)
    elapsed = time.monotonic() - started

    by_key = {row["sku"].strip().upper(): row for row in body["listings"]}
    assert len(body["listings"]) == 4, body
    for sku in skus:
        linked = by_key[sku]["linked_item"]
        assert linked is not None, f"{sku} was not linked: {by_key[sku]}"
        assert (linked["item_id"], linked["sku"]) == (item_ids[sku], sku)
    assert by_key[unmatched]["linked_item"] is None
    assert by_key[skus[1]]["sku"] == skus[1].lower()  # the channel's SKU keeps its case
    unlinked = http.get(f"{api}/channels/{channel_id}/listings", params={"linked": "false"}, timeout=10).json()
    assert [row["sku"] for row in unlinked["listings"]] == [unmatched]
    assert elapsed < WAIT_S

    def auto_link_logged():
        events = http.get(f"{api}/channels/{channel_id}/events", params={"kind": "AUTO_LINK"}, timeout=10).json()
        return bool(events["events"]), events

    events = _wait_for("the auto-link run in the channel's automation log", auto_link_logged, local_stack)
    assert "3 linked" in events["events"][0]["message"], events
