"""Amazon's own SP-API Python SDK (amzn-sp-api) drives the Amazon stand-in: a client nobody here
wrote asks for tokens, reads and patches listings, sends a feed and reads a report, and must be
able to take every answer (its models check required fields as they deserialise). Where the SDK
and the stand-in disagree, the stand-in is wrong about Amazon, and so may be our adapter's tests."""

from __future__ import annotations

import gzip
import json
import re
from typing import Any

import pytest
import requests
from spapi.api.feeds_v2021_06_30.feeds_api import FeedsApi
from spapi.api.listings_items_v2021_08_01.listings_api import ListingsApi
from spapi.api.reports_v2021_06_30.reports_api import ReportsApi
from spapi.auth.credentials import SPAPIConfig
from spapi.auth.lwa_exception import LwaException
from spapi.auth.lwa_request import AccessTokenCache
from spapi.client import SPAPIClient
from spapi.rest import ApiException

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import amazon
from infrastructure.standins.contract import spec

QUANTITY = "/attributes/fulfillment_availability"
EVERY_DATA_SET = ["summaries", "attributes", "issues", "offers", "fulfillmentAvailability"]
SKUS = [f"SKU-{n}" for n in range(5)]


@pytest.fixture
def standin():
    listings = [DemoListing(sku=sku, title=f"Mug {n}", price=12.5, quantity=5, listing_id=str(n))
                for n, sku in enumerate(SKUS)]
    listings.append(DemoListing(sku="SKU-FBA", title="Mug FBA", price=12.5, quantity=9, listing_id="9", fba=True))
    with amazon.AmazonStandIn(listings=listings) as running:
        yield running


def sdk(standin) -> SPAPIClient:
    """The SDK's client, pointed at the stand-in for both SP-API and Login with Amazon."""
    config = SPAPIConfig(amazon.CLIENT_ID, amazon.CLIENT_SECRET, amazon.REFRESH_TOKEN, region="EU")
    return SPAPIClient(config, oauth_endpoint=f"{standin.url}/auth/o2/token", endpoint=standin.url)


def lwa(standin, refresh_token: str = amazon.REFRESH_TOKEN) -> AccessTokenCache:
    # max_retries=0: the SDK sleeps 2, 4 and 8 s between tries of a refused token request.
    return AccessTokenCache(amazon.CLIENT_ID, amazon.CLIENT_SECRET, refresh_token,
                            oauth_endpoint=f"{standin.url}/auth/o2/token", max_retries=0)


def quantity_patch(op: str, quantity: int | None) -> dict[str, Any]:
    value = {"fulfillment_channel_code": "DEFAULT"} if quantity is None else {
        "fulfillment_channel_code": "DEFAULT", "quantity": quantity}
    return {"op": op, "path": QUANTITY, "value": [value]}


def test_given_a_listing_when_the_sdk_reads_it_with_every_data_set_then_the_models_take_the_answer(standin):
    listings = ListingsApi(sdk(standin).api_client)

    item = listings.get_listings_item(amazon.SELLER_ID, "SKU-1", [amazon.MARKETPLACE_ID], included_data=EVERY_DATA_SET)
    fba = listings.get_listings_item(amazon.SELLER_ID, "SKU-FBA", [amazon.MARKETPLACE_ID],
                                     included_data=["fulfillmentAvailability"])

    [summary] = item.summaries
    assert (item.sku, summary.marketplace_id, summary.item_name) == ("SKU-1", amazon.MARKETPLACE_ID, "Mug 1")
    assert "BUYABLE" in summary.status
    assert [(a.fulfillment_channel_code, a.quantity) for a in item.fulfillment_availability] == [("DEFAULT", 5)]
    assert item.attributes["fulfillment_availability"] == [{"fulfillment_channel_code": "DEFAULT", "quantity": 5}]
    assert [(o.price.amount, o.price.currency_code) for o in item.offers] == [("12.50", "GBP")]
    assert item.issues == []
    assert [a.fulfillment_channel_code for a in fba.fulfillment_availability] == ["AMAZON_EU"]
    assert fba.summaries is None  # only the data sets asked for
    assert standin.violations() == []


def test_given_an_unknown_sku_when_the_sdk_reads_it_then_404_with_amazons_error_list(standin):
    with pytest.raises(ApiException) as raised:
        ListingsApi(sdk(standin).api_client).get_listings_item(amazon.SELLER_ID, "NOT-THERE", [amazon.MARKETPLACE_ID])

    assert raised.value.status == 404
    assert json.loads(raised.value.body)["errors"][0]["code"] == "NOT_FOUND"
    assert standin.violations() == []


PATCHES = [("merge", 3, 3), ("replace", 4, 4), ("add", 6, 6), ("delete", None, 0), ("merge", 0, 0)]


def test_given_any_patch_op_the_models_allow_when_the_sdk_patches_the_quantity_then_it_means_what_amazon_says(
        standin):
    listings = ListingsApi(sdk(standin).api_client)
    shown = []
    for sku, (op, quantity, _expected) in zip(SKUS, PATCHES, strict=True):
        answer = listings.patch_listings_item(amazon.SELLER_ID, sku, [amazon.MARKETPLACE_ID], {
            "productType": "PRODUCT", "patches": [quantity_patch(op, quantity)]})
        assert (answer.status, answer.issues) == ("ACCEPTED", []), op
        item = listings.get_listings_item(amazon.SELLER_ID, sku, [amazon.MARKETPLACE_ID],
                                          included_data=["summaries", "fulfillmentAvailability"])
        shown.append((item.fulfillment_availability[0].quantity, "BUYABLE" in item.summaries[0].status))

    # delete removes the seller's availability: nothing to sell, like 0, and the offer is inactive
    assert shown == [(expected, expected > 0) for _op, _quantity, expected in PATCHES]
    assert standin.violations() == []


def test_given_a_validation_preview_when_the_sdk_patches_then_it_is_valid_and_nothing_changes(standin):
    answer = ListingsApi(sdk(standin).api_client).patch_listings_item(
        amazon.SELLER_ID, "SKU-1", [amazon.MARKETPLACE_ID],
        {"productType": "PRODUCT", "patches": [quantity_patch("replace", 1)]}, mode="VALIDATION_PREVIEW")

    assert answer.status == "VALID" and standin.listing("SKU-1").quantity == 5


def test_given_a_listings_feed_of_replace_add_and_delete_when_the_sdk_sends_it_then_amazon_applies_each(standin):
    feeds = FeedsApi(sdk(standin).api_client)
    document = feeds.create_feed_document({"contentType": "application/json; charset=UTF-8"})
    feed = {"header": {"sellerId": amazon.SELLER_ID, "version": "2.0"}, "messages": [
        {"messageId": n, "sku": sku, "operationType": "PATCH", "productType": "PRODUCT", "patches": [patch]}
        for n, (sku, patch) in enumerate([("SKU-0", quantity_patch("replace", 8)), ("SKU-1", quantity_patch("add", 2)),
                                          ("SKU-2", quantity_patch("delete", None))], start=1)]}
    requests.put(document.url, data=json.dumps(feed).encode(), timeout=5,
                 headers={"Content-Type": "application/json; charset=UTF-8"}).raise_for_status()

    created = feeds.create_feed({"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [amazon.MARKETPLACE_ID],
                                 "inputFeedDocumentId": document.feed_document_id})
    polled = [feeds.get_feed(created.feed_id) for _ in range(standin.polls_until_done)]
    report = feeds.get_feed_document(polled[-1].result_feed_document_id)
    body = requests.get(report.url, timeout=5).content

    assert [p.processing_status for p in polled] == ["IN_QUEUE", "DONE"]
    processing = json.loads(gzip.decompress(body) if report.compression_algorithm == "GZIP" else body)
    assert processing["issues"] == [] and processing["summary"]["messagesAccepted"] == 3
    assert [(standin.listing(s).quantity, standin.listing(s).active) for s in ("SKU-0", "SKU-1", "SKU-2")] == [
        (8, True), (2, True), (0, False)]
    assert standin.violations() == []


def test_given_a_listings_report_when_the_sdk_requests_and_reads_it_then_the_document_is_the_tsv(standin):
    reports = ReportsApi(sdk(standin).api_client)

    created = reports.create_report({"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
                                     "marketplaceIds": [amazon.MARKETPLACE_ID]})
    polled = [reports.get_report(created.report_id) for _ in range(standin.polls_until_done)]
    document = reports.get_report_document(polled[-1].report_document_id)
    body = requests.get(document.url, timeout=5).content

    assert [p.processing_status for p in polled] == ["IN_PROGRESS", "DONE"]
    text = (gzip.decompress(body) if document.compression_algorithm == "GZIP" else body).decode("cp1252")
    assert text.startswith("item-name\t") and "\r\nMug 1\t" in text
    assert standin.violations() == []


def test_given_the_seller_revoked_our_access_when_the_sdk_asks_lwa_then_400_invalid_grant(standin):
    standin.revoked_refresh_tokens.add(amazon.REFRESH_TOKEN)

    with pytest.raises(LwaException) as raised:
        lwa(standin).get_lwa_access_token()

    refused = raised.value.__cause__.response
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_given_a_refresh_token_lwa_never_issued_when_the_sdk_asks_then_400_invalid_grant_and_a_good_one_works(
        standin):
    with pytest.raises(LwaException) as raised:
        lwa(standin, "Atzr|never-issued").get_lwa_access_token()

    assert raised.value.__cause__.response.json()["error"] == "invalid_grant"
    assert lwa(standin).get_lwa_access_token().startswith("Atza|")


# --- throttles: each operation's own rate --------------------------------------------------------------


def usage_plans() -> dict[tuple[str, str], tuple[float, int]]:
    """(method, path with its parameters as {}) -> (rate, burst), from the usage plan table in each
    operation's description in Amazon's models (the stand-in's copies)."""
    plans = {}
    for name in ("listingsItems_2021-08-01.oas3.json", "feeds_2021-06-30.oas3.json", "reports_2021-06-30.oas3.json",
                 "orders_2026-01-01.oas3.json", "notifications.oas3.json"):
        for path, operations in json.loads(spec("amazon", name).read_text())["paths"].items():
            for method, operation in operations.items():
                if not isinstance(operation, dict):  # the path's own parameters
                    continue
                table = re.search(r"\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", str(operation.get("description", "")))
                if table:
                    plans[method.upper(), re.sub(r"\{[^}]+\}", "{}", path)] = (float(table[1]), int(table[2]))
    return plans


def test_every_sp_api_operation_of_the_standin_keeps_the_usage_plan_of_amazons_model(standin):
    plans = usage_plans()
    modelled = {rule.endpoint: plans[method, re.sub(r"<[^>]+>", "{}", rule.rule)]
                for rule in standin.rules() for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
                if (method, re.sub(r"<[^>]+>", "{}", rule.rule)) in plans}

    assert standin.limits == modelled  # LWA and the pre-signed URLs have no usage plan
    assert set(modelled) == {rule.endpoint for rule in standin.rules()} - {"token", "download", "upload"}


THROTTLED = [("patch_listing", "5.0"), ("get_listing", "5.0"), ("get_feed_document", "0.0222"),
             ("create_feed", "0.0083"), ("get_report", "2.0")]


def test_given_amazon_throttles_an_operation_when_the_sdk_calls_it_then_the_429_names_that_operations_rate(standin):
    client = sdk(standin).api_client
    listings, feeds, reports = ListingsApi(client), FeedsApi(client), ReportsApi(client)
    calls = {
        "patch_listing": lambda: listings.patch_listings_item(amazon.SELLER_ID, "SKU-1", [amazon.MARKETPLACE_ID], {
            "productType": "PRODUCT", "patches": [quantity_patch("merge", 1)]}),
        "get_listing": lambda: listings.get_listings_item(amazon.SELLER_ID, "SKU-1", [amazon.MARKETPLACE_ID]),
        "get_feed_document": lambda: feeds.get_feed_document("amzn1.tortuga.4.eu.1"),
        "create_feed": lambda: feeds.create_feed({"feedType": "JSON_LISTINGS_FEED", "inputFeedDocumentId": "x",
                                                  "marketplaceIds": [amazon.MARKETPLACE_ID]}),
        "get_report": lambda: reports.get_report("1"),
    }
    seen = []
    for endpoint, _rate in THROTTLED:
        standin.fail_next(endpoint, 429)
        with pytest.raises(ApiException) as raised:
            calls[endpoint]()
        headers = raised.value.headers
        assert json.loads(raised.value.body)["errors"][0]["code"] == "QuotaExceeded"
        assert "Retry-After" not in headers  # SP-API never names one
        seen.append((endpoint, raised.value.status, headers.get("x-amzn-RateLimit-Limit")))

    assert seen == [(endpoint, 429, rate) for endpoint, rate in THROTTLED]


def test_given_the_burst_of_getfeeddocument_is_spent_when_the_sdk_asks_again_then_it_is_throttled(standin):
    feeds = FeedsApi(sdk(standin).api_client)
    answers = []
    for _ in range(11):  # burst 10, then one every 45 s
        try:
            feeds.get_feed_document("amzn1.tortuga.4.eu.1")
        except ApiException as refused:
            answers.append((refused.status, refused.headers.get("x-amzn-RateLimit-Limit")))

    assert answers == [(404, None)] * 10 + [(429, "0.0222")]
