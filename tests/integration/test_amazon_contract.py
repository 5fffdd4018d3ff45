"""The Amazon adapter against the SP-API stand-in, where Amazon's contract is stricter than our
first reading of it: compressed processing reports, feeds refused as a whole, revoked tokens,
throttles that name no Retry-After but the operation's rate."""

from __future__ import annotations

import io
import json

import pytest

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import amazon
from stocksync.catalogue.reader import PARENT, SKU, TITLE, VARIATION, RangeReport, decompressed, parse_rows, sniff
from stocksync.channels.base import (
    ChannelAccount,
    ChannelAuthFailed,
    ChannelThrottled,
    QuantityStatus,
    QuantityUpdate,
)
from stocksync.channels.registry import build_adapter
from stocksync.core.http_client import RetryPolicy, TokenCache

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, sleep=lambda _s: None)


def amazon_adapter(standin, policy=NO_WAIT):
    account = ChannelAccount("chan-amz", "amazon", {
        "sp_api_endpoint": standin.url, "lwa_endpoint": f"{standin.url}/auth/o2/token",
        "marketplace_ids": [amazon.MARKETPLACE_ID], "seller_id": amazon.SELLER_ID, "feed_threshold": 2,
    }, {"lwa_client_id": amazon.CLIENT_ID, "lwa_client_secret": amazon.CLIENT_SECRET,
        "refresh_token": amazon.REFRESH_TOKEN})
    return build_adapter(account, policy=policy, tokens=TokenCache())


def listings(count):
    return [DemoListing(sku=f"SKU-{n:05d}", title=f"Item {n}", price=9.99, quantity=5, listing_id=str(n))
            for n in range(count)]


def sent_as_feed(subject, updates):
    results = subject.submit_quantities(updates)
    assert {r.status for r in results} == {QuantityStatus.PENDING}
    feed_id = results[0].reference
    assert subject.pending_outcome(feed_id) is None  # still processing
    return subject.pending_outcome(feed_id)


def test_given_amazon_gzips_the_processing_report_when_the_feed_is_done_then_the_bad_sku_is_still_named():
    with amazon.AmazonStandIn(listings=listings(3), gzip_processing_reports=True) as standin:
        updates = [QuantityUpdate(f"SKU-{n:05d}", n + 1) for n in range(3)] + [QuantityUpdate("NOT-THERE", 1)]

        outcome = sent_as_feed(amazon_adapter(standin), updates)

        assert set(outcome) == {"NOT-THERE"} and "not in the seller's catalogue" in outcome["NOT-THERE"]
        assert standin.listing("SKU-00002").quantity == 3
        assert standin.violations() == []


def test_given_amazon_refuses_the_whole_feed_when_the_feed_is_done_then_every_listing_is_an_error_with_its_message():
    refusal = "The feed could not be processed: the document is not valid JSON_LISTINGS_FEED"
    with amazon.AmazonStandIn(listings=listings(3), refuse_feeds=refusal) as standin:
        updates = [QuantityUpdate(f"SKU-{n:05d}", 9) for n in range(3)]

        outcome = sent_as_feed(amazon_adapter(standin), updates)

        assert set(outcome) == {"*"} and refusal in outcome["*"]
        assert standin.listing("SKU-00000").quantity == 5  # nothing was applied
        assert standin.violations() == []


def test_given_the_seller_revoked_our_access_when_a_quantity_is_sent_then_the_seller_is_told_to_reconnect():
    with amazon.AmazonStandIn(listings=listings(1)) as standin:
        standin.revoked_refresh_tokens.add(amazon.REFRESH_TOKEN)

        subject = amazon_adapter(standin)

        # Refused credentials fail every call alike: the submission stops, the seller is told to reconnect.
        with pytest.raises(ChannelAuthFailed, match="reconnect the Amazon account"):
            subject.submit_quantities([QuantityUpdate("SKU-00000", 2)])
        with pytest.raises(ChannelAuthFailed, match="reconnect the Amazon account"):
            subject.request_catalogue()

        assert standin.listing("SKU-00000").quantity == 5


def test_given_stock_runs_out_when_the_quantity_is_patched_then_the_listing_is_disabled_in_our_own_words():
    with amazon.AmazonStandIn(listings=listings(2)) as standin:
        results = amazon_adapter(standin).submit_quantities(
            [QuantityUpdate("SKU-00000", 0), QuantityUpdate("SKU-00001", 4)])

        # Our listing states are active / ended / disabled / removed: Amazon's "inactive" is disabled.
        assert [(r.status, r.state) for r in results] == [(QuantityStatus.OK, "disabled"),
                                                          (QuantityStatus.OK, "active")]
        assert standin.listing("SKU-00000").active is False and standin.listing("SKU-00001").active is True


def test_given_amazon_throttles_a_patch_when_sent_then_it_is_sent_again_after_the_operations_own_interval():
    waits: list[float] = []
    with amazon.AmazonStandIn(listings=listings(1)) as standin:
        subject = amazon_adapter(standin, RetryPolicy(max_attempts=3, base_delay=0.0, sleep=waits.append))
        standin.fail_next("patch_listing", 429)  # x-amzn-RateLimit-Limit: 5.0, no Retry-After

        [result] = subject.submit_quantities([QuantityUpdate("SKU-00000", 2)])

        assert result.status == QuantityStatus.OK and standin.listing("SKU-00000").quantity == 2
        assert waits == [pytest.approx(0.2)]  # patchListingsItem's next token: 1 / 5 requests per second


def test_given_amazon_throttles_the_processing_report_when_its_outcome_is_read_then_it_is_asked_for_again_in_45_s():
    with amazon.AmazonStandIn(listings=listings(3)) as standin:
        subject = amazon_adapter(standin)
        [first, *_rest] = subject.submit_quantities([QuantityUpdate(f"SKU-{n:05d}", 1) for n in range(3)])
        assert subject.pending_outcome(first.reference) is None  # still processing
        standin.fail_next("get_feed_document", 429)  # x-amzn-RateLimit-Limit: 0.0222, no Retry-After

        with pytest.raises(ChannelThrottled) as throttled:
            subject.pending_outcome(first.reference)

        # getFeedDocument earns a request every 45 s: the caller comes back then (not in a minute, and
        # not at once: a retry now would only spend the budget of the next read).
        assert throttled.value.retry_after == pytest.approx(1 / 0.0222)
        assert [e.status for e in standin.exchanges if e.path.startswith("/feeds/2021-06-30/documents/")] == [429]
        assert subject.pending_outcome(first.reference) == {}
        assert standin.violations() == []


def test_given_stock_runs_out_on_listings_sent_as_a_feed_then_they_are_disabled_as_a_patch_would_leave_them():
    with amazon.AmazonStandIn(listings=listings(3)) as standin:
        results = amazon_adapter(standin).submit_quantities(
            [QuantityUpdate("SKU-00000", 0), QuantityUpdate("SKU-00001", 4), QuantityUpdate("SKU-00002", 0)])

        # Recorded as sent while the feed processes, like the quantity: the state it leaves them in.
        assert [(r.status, r.state) for r in results] == [(QuantityStatus.PENDING, "disabled"),
                                                          (QuantityStatus.PENDING, "active"),
                                                          (QuantityStatus.PENDING, "disabled")]


@pytest.mark.parametrize("gzipped", [True, False])
def test_given_a_parent_with_child_skus_when_the_report_is_read_then_each_child_row_names_its_parent_and_size(
        gzipped):
    tees = [DemoListing(f"TEE-{size}", f"Tee {size} \u2013 coton", 12.0, 2, f"L{size}", parent="TEE",
                        variation={"size": size}) for size in ("S", "M", "L")]
    with amazon.AmazonStandIn(listings=[*tees, DemoListing("MUG", "Mug", 5.0, 1, "L9")], polls_until_done=1,
                              gzip_documents=gzipped) as standin:
        subject = amazon_adapter(standin)
        progress = subject.poll_catalogue(subject.request_catalogue().report_id, {})
        with subject.open_catalogue(progress) as document:
            data = b"".join(document.chunks)
        plan = sniff(io.BytesIO(data), source=document.source, charset="cp1252")
        body, _ = decompressed(io.BytesIO(data))
        body.read(plan.body_offset)
        report = RangeReport()
        rows = {row[SKU]: row for row in parse_rows(body, plan, report)}

        assert report.errors == [] and document.extension == "tsv"
        assert set(rows) == {"TEE-S", "TEE-M", "TEE-L", "MUG"}  # the parent has no offer: it is no listing
        assert (rows["TEE-M"][PARENT], json.loads(rows["TEE-M"][VARIATION])) == ("TEE", {"size": "M"})
        assert rows["TEE-M"][TITLE] == "Tee M \u2013 coton"  # the report's own cells as Amazon sent them
        assert (rows["MUG"][PARENT], rows["MUG"][VARIATION]) == (None, None)
        assert standin.violations() == []
