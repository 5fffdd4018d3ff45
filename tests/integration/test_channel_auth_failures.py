"""A channel that refuses the seller's credentials says so on the channel, once, until the seller
reconnects: the stock submitter, the catalogue poller and the order poller all record it."""

from __future__ import annotations

import pytest
from stock_sync_support import NO_WAIT, fast_adapter_factory, item_with_stock, listing, read_listing

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import amazon, ebay
from stocksync.api.context import services
from stocksync.catalogue.documents import CatalogueBucket
from stocksync.catalogue.retrieval import CatalogueRequests
from stocksync.channels.registry import build_adapter
from stocksync.core.automation_log import AutomationLog
from stocksync.core.http_client import TokenCache
from stocksync.core.messages import StockChange
from stocksync.core.secrets import ParameterStore
from stocksync.stock_sync.submitter import StockSubmitter

CREDENTIALS = {"client_id": ebay.CLIENT_ID, "client_secret": ebay.CLIENT_SECRET, "refresh_token": ebay.REFRESH_TOKEN}


@pytest.fixture
def revoked_ebay(api):
    mug = DemoListing("MUG-BLACK", "Mug", 9.5, 4, "110000000077")
    with ebay.EbayStandIn(listings=[mug], inventory_api_skus=set()) as standin:
        standin.revoke_refresh_token()
        answer = api.post("/channels", {"name": "eBay UK", "type": "ebay", "credentials": CREDENTIALS,
                                        "settings": {"api_base_url": standin.url, "marketplace_id": "EBAY_GB"}})
        assert answer.status == 201, answer.body
        shop = answer.body["channel_id"]
        item = item_with_stock(api, "MUG-BLACK", 6)
        listing(shop, "MUG-BLACK", item, channel_listing_id="110000000077", listing_kind="trading")
        yield standin, shop, item


def sell(item: str) -> None:
    """A stock change for `item`, submitted as the stock queue's submitter would."""
    StockSubmitter(ParameterStore(), adapter_factory=fast_adapter_factory()).reconcile(
        {"m": StockChange(reason="sale", item_ids=[item])}, force=True)


def auth_events(api, channel_id: str) -> list[dict]:
    return api.get(f"/channels/{channel_id}/events", kind="CHANNEL_AUTH_FAILED").body["events"]


def test_given_the_seller_revoked_our_access_when_stock_is_sent_twice_then_the_channel_asks_once_to_reconnect(
        api, revoked_ebay):
    standin, shop, item = revoked_ebay

    for _ in range(2):
        sell(item)

    failure = api.get(f"/channels/{shop}").body["auth_failure"]
    assert failure["operation"] == "stock" and "reconnect" in failure["action"].lower()
    assert "eBay" in failure["message"]
    [event] = auth_events(api, shop)
    assert "Reconnect the account" in event["message"]
    assert [c["auth_failure"]["operation"] for c in api.get("/channels").body["channels"]
            if c["channel_id"] == shop] == ["stock"]
    assert read_listing(shop, "MUG-BLACK").update_status == "error"
    assert standin.listing("MUG-BLACK").quantity == 4


def test_given_an_auth_failure_when_the_seller_saves_new_credentials_then_the_channel_no_longer_asks(
        api, revoked_ebay):
    standin, shop, item = revoked_ebay
    sell(item)
    assert api.get(f"/channels/{shop}").body["auth_failure"] is not None

    standin.refresh_tokens.add(ebay.REFRESH_TOKEN)  # the seller authorised the app again
    renewed = api.patch(f"/channels/{shop}", {"credentials": CREDENTIALS})

    assert renewed.status == 200 and renewed.body["auth_failure"] is None
    sell(item)
    assert standin.listing("MUG-BLACK").quantity == 6
    assert api.get(f"/channels/{shop}").body["auth_failure"] is None


def test_given_amazon_refuses_the_token_when_the_catalogue_poller_runs_then_it_asks_and_a_later_report_clears_it(
        api, stack):
    with amazon.AmazonStandIn(polls_until_done=1) as standin:
        standin.revoked_refresh_tokens.add(amazon.REFRESH_TOKEN)
        shop = api.post("/channels", {"name": "Amazon UK", "type": "amazon", "settings": {
            "sp_api_endpoint": standin.url, "lwa_endpoint": f"{standin.url}/auth/o2/token"}, "credentials": {
            "lwa_client_id": amazon.CLIENT_ID, "lwa_client_secret": amazon.CLIENT_SECRET,
            "refresh_token": amazon.REFRESH_TOKEN}}).body["channel_id"]
        poller = CatalogueRequests(services().channels, ParameterStore(),
                                   CatalogueBucket(services().settings.catalogue_bucket), AutomationLog(),
                                   adapter_factory=lambda account: build_adapter(account, policy=NO_WAIT,
                                                                                 tokens=TokenCache()))

        assert poller.tick("frequent")[shop].startswith("error")
        assert api.get(f"/channels/{shop}").body["auth_failure"]["operation"] == "catalogue"

        standin.revoked_refresh_tokens.clear()  # the access came back without new credentials
        poller.refresh(shop, confirm=True)
        outcomes = [poller.tick("frequent")[shop] for _ in range(2)]

        assert "done" in outcomes
        assert api.get(f"/channels/{shop}").body["auth_failure"] is None
        assert len(auth_events(api, shop)) == 1
