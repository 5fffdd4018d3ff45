"""Each adapter's stock side against its stand-in: what a buyer on the channel sees, and every
exchange valid against the channel's published contract."""

from __future__ import annotations

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import amazon, generic
from stocksync.channels.base import ChannelAccount, QuantityStatus, QuantityUpdate
from stocksync.channels.registry import build_adapter
from stocksync.core.http_client import RetryPolicy, TokenCache

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, sleep=lambda _s: None)


def adapter(channel_type, settings, credentials):
    return build_adapter(ChannelAccount("chan-1", channel_type, settings, credentials), policy=NO_WAIT,
                         tokens=TokenCache())


def amazon_adapter(standin, **settings):
    return adapter("amazon", {"sp_api_endpoint": standin.url, "lwa_endpoint": f"{standin.url}/auth/o2/token",
                              "marketplace_ids": ["A1F83G8C2ARO7P", "A13V1IB3VIYZZH"],
                              "seller_id": amazon.SELLER_ID, **settings},
                   {"lwa_client_id": amazon.CLIENT_ID, "lwa_client_secret": amazon.CLIENT_SECRET,
                    "refresh_token": amazon.REFRESH_TOKEN})


def amazon_listings(count):
    return [DemoListing(sku=f"SKU-{n:05d}", title=f"Item {n}", price=9.99, quantity=5, listing_id=str(n))
            for n in range(count)]


# --- Amazon ------------------------------------------------------------------------------------


def test_given_few_amazon_changes_when_submitted_then_each_is_a_merge_patch_and_zero_makes_it_inactive():
    with amazon.AmazonStandIn(listings=amazon_listings(3)) as standin:
        results = amazon_adapter(standin).submit_quantities(
            [QuantityUpdate("SKU-00000", 7), QuantityUpdate("SKU-00001", 0)])

        assert [r.status for r in results] == [QuantityStatus.OK, QuantityStatus.OK]
        assert (standin.listing("SKU-00000").quantity, standin.listing("SKU-00000").active) == (7, True)
        assert (standin.listing("SKU-00001").quantity, standin.listing("SKU-00001").active) == (0, False)
        patches = [e for e in standin.exchanges if e.method == "PATCH"]
        assert len(patches) == 2
        assert patches[0].query["marketplaceIds"] == ["A1F83G8C2ARO7P,A13V1IB3VIYZZH"]  # one quantity per SKU
        assert standin.violations() == []


def test_given_an_amazon_listing_restocked_when_submitted_then_it_is_active_again():
    listings = amazon_listings(1)
    listings[0].quantity, listings[0].active = 0, False
    with amazon.AmazonStandIn(listings=listings) as standin:
        amazon_adapter(standin).submit_quantities([QuantityUpdate("SKU-00000", 3, state="inactive")])
        assert (standin.listing("SKU-00000").quantity, standin.listing("SKU-00000").active) == (3, True)


def test_given_more_changes_than_the_threshold_when_submitted_then_one_feed_and_its_report_names_the_bad_sku():
    with amazon.AmazonStandIn(listings=amazon_listings(30), polls_until_done=2) as standin:
        subject = amazon_adapter(standin, feed_threshold=10)
        updates = [QuantityUpdate(f"SKU-{n:05d}", n) for n in range(30)] + [QuantityUpdate("NOT-THERE", 1)]

        results = subject.submit_quantities(updates)

        assert {r.status for r in results} == {QuantityStatus.PENDING}
        feed_id = results[0].reference
        writes = [e.path for e in standin.exchanges if e.method in ("POST", "PUT") and "/auth/" not in e.path]
        assert writes[0] == "/feeds/2021-06-30/documents" and writes[1].startswith("/uploads/")
        assert writes[2:] == ["/feeds/2021-06-30/feeds"]  # 31 listings, one feed
        assert subject.pending_outcome(feed_id) is None  # still processing
        issues = subject.pending_outcome(feed_id)
        assert set(issues) == {"NOT-THERE"}
        assert standin.listing("SKU-00029").quantity == 29
        assert standin.violations() == []


def test_given_amazon_throttles_every_try_when_submitted_then_the_listing_is_to_be_retried_not_failed():
    with amazon.AmazonStandIn(listings=amazon_listings(1)) as standin:
        standin.fail_next("patch_listing", 429, 429, 429)
        [result] = amazon_adapter(standin).submit_quantities([QuantityUpdate("SKU-00000", 2)])
        assert result.status == QuantityStatus.RETRY and result.retry_after
        assert standin.violations() == []


def test_given_an_fba_sku_when_patched_then_amazon_refuses_it_per_listing():
    with amazon.AmazonStandIn(listings=[DemoListing("F-1", "x", 1.0, 0, "1", fba=True)]) as standin:
        [result] = amazon_adapter(standin).submit_quantities([QuantityUpdate("F-1", 2)])
        assert result.status == QuantityStatus.ERROR and "fulfilled by Amazon" in result.message


# --- generic website ---------------------------------------------------------------------------


def test_given_a_website_in_zero_backorder_mode_when_out_of_stock_then_quantity_0_with_backorders():
    with generic.GenericStandIn() as standin:
        sku = standin.listings[0].sku
        subject = adapter("generic", {"base_url": standin.url, "out_of_stock_mode": "zero_backorder"},
                          {"api_key": generic.API_KEY})

        [result] = subject.submit_quantities([QuantityUpdate(sku, 0)])

        assert result.status == QuantityStatus.OK
        shown = standin.listings[0]
        assert (shown.quantity, shown.active, shown.backorders) == (0, True, True)


def test_given_250_website_changes_when_submitted_then_three_signed_batches():
    with generic.GenericStandIn() as standin:
        skus = [item.sku for item in standin.listings]
        subject = adapter("generic", {"base_url": standin.url}, {"api_key": generic.API_KEY})
        updates = [QuantityUpdate(skus[n % len(skus)] if n < len(skus) else f"GONE-{n}", 1) for n in range(250)]

        results = subject.submit_quantities(updates)

        assert len([e for e in standin.exchanges if e.path == "/stocksync/v1/stock"]) == 3 == subject.calls_for(250)
        assert sum(r.status == QuantityStatus.ERROR for r in results) == 250 - len(skus)


def test_given_500_website_changes_sent_four_calls_at_once_when_one_call_is_refused_then_only_its_listings_fail():
    listings = [DemoListing(sku=f"WEB-{n:04d}", title=f"Item {n}", price=5.0, quantity=1, listing_id=str(n))
                for n in range(500)]
    with generic.GenericStandIn(listings=listings) as standin:
        subject = adapter("generic", {"base_url": standin.url}, {"api_key": generic.API_KEY})
        standin.fail_next("post_stock", 400)

        results = subject.submit_quantities([QuantityUpdate(item.sku, 7) for item in listings])

        assert [r.sku for r in results] == [item.sku for item in listings]  # every listing answered, in order
        refused = [r.sku for r in results if r.status == QuantityStatus.ERROR]
        assert len(refused) == 100  # one call's batch: the other four went through
        assert all(item.quantity == 7 for item in standin.listings if item.sku not in refused)
        assert len([e for e in standin.exchanges if e.path == "/stocksync/v1/stock"]) == 5
        assert standin.violations() == []
