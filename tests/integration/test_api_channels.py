"""Channels through the API: types, locations, settings, credentials kept in Secrets Manager."""

from __future__ import annotations

import json

import boto3
import pytest

AMAZON_CREDENTIALS = {"lwa_client_id": "amzn1.app", "lwa_client_secret": "s3cr3t-value", "refresh_token": "Atzr|x"}


def test_given_amazon_credentials_when_channel_created_then_they_go_to_secrets_manager_only(api, stack):
    answer = api.post("/channels", {"name": "Amazon UK", "type": "amazon", "credentials": AMAZON_CREDENTIALS})

    assert answer.status == 201
    channel = answer.body
    assert channel["has_credentials"] is True
    assert "s3cr3t-value" not in json.dumps(channel)
    assert channel["location_ids"] == ["default"]
    assert channel["settings"]["marketplace_ids"] == ["A1F83G8C2ARO7P"]
    parameter = boto3.client("ssm").get_parameter(
        Name=f"/stocksync/stocksync-local/channels/{channel['channel_id']}", WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    assert json.loads(parameter["Value"]) == AMAZON_CREDENTIALS
    table = boto3.client("dynamodb").scan(TableName=stack.ref("Table"))
    assert "s3cr3t-value" not in json.dumps(table)
    assert "s3cr3t-value" not in json.dumps(api.get(f"/channels/{channel['channel_id']}").body)


def test_given_incomplete_credentials_when_channel_created_then_400_names_what_is_accepted(api):
    answer = api.post("/channels", {"name": "eBay", "type": "ebay", "credentials": {"client_id": "x"}})

    assert answer.status == 400
    assert answer.body["error"]["details"]["field"] == "credentials"
    assert api.get("/channels").body["channels"] == []


def test_given_unknown_type_or_setting_when_channel_created_then_rejected_with_the_field(api):
    bad_type = api.post("/channels", {"name": "X", "type": "etsy"})
    bad_setting = api.post("/channels", {"name": "Shop", "type": "magento", "settings": {"inventory_api": "v9"}})

    assert bad_type.status == 422
    assert bad_setting.status == 400
    assert bad_setting.body["error"]["details"][0]["field"] == "settings.inventory_api"


def test_given_unknown_location_when_channel_created_then_400(api):
    answer = api.post("/channels", {"name": "Shop", "type": "generic", "location_ids": ["nowhere"]})
    assert answer.status == 400
    assert answer.body["error"]["details"]["location_ids"] == ["nowhere"]


def test_given_duplicate_name_when_channel_created_then_409(api):
    api.post("/channels", {"name": "Web Shop", "type": "generic"})
    assert api.post("/channels", {"name": "web shop", "type": "magento"}).status == 409


def test_given_channel_when_locations_changed_then_stock_queue_names_the_channel(api, stock_messages):
    annex = api.post("/locations", {"name": "Annex"}).body["location_id"]
    channel = api.post("/channels", {"name": "Shop", "type": "generic"}).body["channel_id"]
    stock_messages()

    updated = api.patch(f"/channels/{channel}", {"location_ids": ["default", annex]})

    assert updated.body["location_ids"] == ["default", annex]
    assert stock_messages() == [
        {"reason": "channel_changed", "item_ids": [], "channel_ids": [channel], "all_items": True}
    ]


def test_given_disabled_channel_when_enabled_then_it_is_enabled_and_reconciled(api, stock_messages):
    channel = api.post("/channels", {"name": "Shop", "type": "generic", "enabled": False}).body["channel_id"]
    stock_messages()

    assert api.post(f"/channels/{channel}/enable").body["enabled"] is True
    assert stock_messages()[0]["channel_ids"] == [channel]
    assert api.post(f"/channels/{channel}/disable").body["enabled"] is False
    assert stock_messages() == []


def test_given_settings_patch_when_applied_then_merged_and_validated(api):
    channel = api.post("/channels", {"name": "M2", "type": "magento",
                                     "settings": {"base_url": "https://shop.example"}}).body["channel_id"]

    answer = api.patch(f"/channels/{channel}", {"settings": {"out_of_stock_mode": "zero_backorder"}})

    assert answer.body["settings"]["base_url"] == "https://shop.example/"
    assert answer.body["settings"]["out_of_stock_mode"] == "zero_backorder"


def test_given_channel_with_credentials_when_deleted_then_its_credentials_are_deleted(api):
    channel = api.post("/channels", {"name": "Amazon", "type": "amazon", "credentials": AMAZON_CREDENTIALS}).body

    assert api.delete(f"/channels/{channel['channel_id']}").status == 204

    assert api.get(f"/channels/{channel['channel_id']}").status == 404
    ssm = boto3.client("ssm")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=f"/stocksync/stocksync-local/channels/{channel['channel_id']}")
    assert api.post("/channels", {"name": "Amazon", "type": "amazon"}).status == 201
