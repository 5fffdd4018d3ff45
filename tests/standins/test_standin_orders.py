"""Buyers' orders at the stand-ins (`/_standin/orders`): units come off the listing, nobody buys
what is not shown, the seller ships or the order is cancelled; Amazon pushes ORDER_CHANGE to SQS."""

from __future__ import annotations

import json

import boto3
import pytest
import requests

from infrastructure.demo.listings import DemoListing
from infrastructure.standins import amazon, ebay, generic, magento, mirakl, rakuten
from stocksync.channels.amazon import AmazonAdapter
from stocksync.channels.base import ChannelAccount
from stocksync.channels.order_side import NotifiedOrder
from stocksync.channels.registry import build_adapter
from stocksync.core.http_client import RetryPolicy, TokenCache

STANDINS = [amazon.AmazonStandIn, ebay.EbayStandIn, magento.MagentoStandIn, mirakl.MiraklStandIn,
            rakuten.RakutenStandIn, generic.GenericStandIn]


def two_listings() -> list[DemoListing]:
    return [DemoListing("SKU-A", "A", 5.0, 2, "110000000001"), DemoListing("SKU-B", "B", 5.0, 3, "110000000002",
                                                                           active=False)]


def place(standin, body: dict) -> requests.Response:
    return requests.post(f"{standin.url}/_standin/orders", json=body, timeout=5)


def shown(standin, sku: str) -> dict:
    answer = requests.get(f"{standin.url}/_standin/listings", timeout=5).json()
    return next(item for item in answer["listings"] if item["sku"] == sku)


@pytest.mark.parametrize("standin_class", STANDINS)
def test_given_a_listing_showing_two_when_a_buyer_orders_then_units_come_off_and_a_third_is_refused(standin_class):
    with standin_class(listings=two_listings()) as standin:
        first = place(standin, {"sku": "SKU-A", "quantity": 2})

        assert first.status_code == 201
        assert first.json()["status"] == "open" and first.json()["lines"][0]["quantity"] == 2
        assert shown(standin, "SKU-A")["quantity"] == 0
        refused = place(standin, {"sku": "SKU-A", "quantity": 1})
        assert refused.status_code == 409  # shows 0 units (Amazon: and inactive at 0)
        assert place(standin, {"sku": "SKU-B", "quantity": 1}).status_code == 409  # not active: not shown
        assert place(standin, {"sku": "NOPE", "quantity": 1}).status_code == 404
        assert len(requests.get(f"{standin.url}/_standin/orders", timeout=5).json()["orders"]) == 1


@pytest.mark.parametrize("standin_class", STANDINS)
def test_given_an_order_when_cancelled_then_its_units_go_back_and_a_shipped_one_cannot_change(standin_class):
    with standin_class(listings=two_listings()) as standin:
        cancelled = place(standin, {"sku": "SKU-A", "quantity": 1}).json()["order_id"]
        shipped = place(standin, {"sku": "SKU-A", "quantity": 1}).json()["order_id"]

        answer = requests.post(f"{standin.url}/_standin/orders/{cancelled}/cancel", timeout=5)
        assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
        assert requests.post(f"{standin.url}/_standin/orders/{shipped}/ship", timeout=5).json()["status"] == "shipped"

        assert shown(standin, "SKU-A")["quantity"] == 1
        assert requests.post(f"{standin.url}/_standin/orders/{shipped}/cancel", timeout=5).status_code == 409
        assert requests.post(f"{standin.url}/_standin/orders/NOPE/ship", timeout=5).status_code == 404


def test_given_many_buyers_at_once_when_they_order_the_last_units_then_never_more_than_shown_are_sold():
    from concurrent.futures import ThreadPoolExecutor

    with rakuten.RakutenStandIn(listings=[DemoListing("LAST", "x", 1.0, 3, "1")]) as standin, \
            ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _n: place(standin, {"sku": "LAST", "quantity": 1}).status_code, range(12)))

        assert statuses.count(201) == 3 and statuses.count(409) == 9
        assert standin.listing("LAST").quantity == 0


def test_given_an_fba_order_when_placed_then_the_sellers_listing_keeps_its_units():
    items = [DemoListing("SKU-A-FBA", "A", 5.0, 0, "9", fba=True)]
    with amazon.AmazonStandIn(listings=items) as standin:
        answer = place(standin, {"sku": "SKU-A-FBA", "quantity": 4, "fulfilled_by_channel": True})
        assert answer.status_code == 201 and answer.json()["fulfilled_by_channel"]
        assert standin.listing("SKU-A-FBA").quantity == 0


def test_given_an_order_change_subscription_when_orders_change_then_amazon_notifies_the_sqs_queue(aws):
    sqs = boto3.client("sqs", region_name="eu-west-1", endpoint_url=aws)
    queue = sqs.create_queue(QueueName="order-notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    with amazon.AmazonStandIn(listings=two_listings(), sqs_endpoint_url=aws) as standin:
        account = ChannelAccount("chan-amz", "amazon", {
            "sp_api_endpoint": standin.url, "lwa_endpoint": f"{standin.url}/auth/o2/token",
            "marketplace_ids": [amazon.MARKETPLACE_ID], "seller_id": amazon.SELLER_ID},
            {"lwa_client_id": amazon.CLIENT_ID, "lwa_client_secret": amazon.CLIENT_SECRET,
             "refresh_token": amazon.REFRESH_TOKEN})
        build_adapter(account, policy=RetryPolicy(max_attempts=1), tokens=TokenCache()).ensure_order_notifications(arn)

        order_id = place(standin, {"sku": "SKU-A", "quantity": 1}).json()["order_id"]
        requests.post(f"{standin.url}/_standin/orders/{order_id}/ship", timeout=5)
        standin.wait_for_deliveries()

        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
        bodies = [json.loads(m["Body"]) for m in messages]
        assert [b["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"] for b in bodies] == [
            "Unshipped", "Shipped"]
        notified = [n for m in messages for n in AmazonAdapter.notified_orders({"body": m["Body"]})]
        # Each names the account and the order only: what the order holds is read from Amazon
        assert notified == [NotifiedOrder(amazon.SELLER_ID, order_id)] * 2
        assert standin.delivery_errors == [] and standin.violations() == []


def test_given_no_subscription_when_an_order_is_placed_then_nothing_is_sent():
    with amazon.AmazonStandIn(listings=two_listings(), sqs_endpoint_url="http://127.0.0.1:9") as standin:
        place(standin, {"sku": "SKU-A", "quantity": 1})
        standin.wait_for_deliveries()
        assert standin.notifications_sent == [] and standin.delivery_errors == []


def test_given_an_sqs_arn_when_turned_into_a_url_then_moto_path_form():
    assert amazon.queue_url("arn:aws:sqs:eu-west-1:123456789012:q", "http://127.0.0.1:5000/") == (
        "eu-west-1", "http://127.0.0.1:5000/123456789012/q")
