"""Locations, stock levels, history, composites and availability through the API."""

from __future__ import annotations


def _item(api, sku: str) -> str:
    return api.post("/items", {"sku": sku}).body["item_id"]


def _location(api, name: str) -> str:
    answer = api.post("/locations", {"name": name})
    assert answer.status == 201, answer.body
    return answer.body["location_id"]


def test_given_a_new_seller_when_locations_listed_then_there_is_one_default(api):
    locations = api.get("/locations").body["locations"]
    assert [(loc["name"], loc["is_default"]) for loc in locations] == [("Default", True)]


def test_given_two_locations_when_the_second_is_made_default_then_only_it_is_default(api):
    api.get("/locations")
    annex = _location(api, "Annex")

    api.patch(f"/locations/{annex}", {"is_default": True})

    defaults = [loc["name"] for loc in api.get("/locations").body["locations"] if loc["is_default"]]
    assert defaults == ["Annex"]


def test_given_location_name_taken_in_other_case_when_created_then_409(api):
    _location(api, "Warehouse")
    assert api.post("/locations", {"name": "WAREHOUSE"}).status == 409


def test_given_the_default_location_when_deleted_then_409(api):
    assert api.delete("/locations/default").status == 409


def test_given_a_location_holding_stock_when_deleted_then_409_until_emptied(api):
    item = _item(api, "A")
    annex = _location(api, "Annex")
    api.put(f"/items/{item}/stock/{annex}", {"level": 3})

    assert api.delete(f"/locations/{annex}").status == 409
    api.put(f"/items/{item}/stock/{annex}", {"level": 0})
    assert api.delete(f"/locations/{annex}").status == 204


def test_given_an_item_when_stock_set_and_adjusted_then_levels_and_history_follow(api, stock_messages):
    item = _item(api, "MUG-1")

    assert api.put(f"/items/{item}/stock/default", {"level": 10, "reason": "count"}).body["level"] == 10
    adjusted = api.post(f"/items/{item}/stock/default/adjustments", {"delta": -3, "reason": "damaged"})

    assert adjusted.status == 200
    assert adjusted.body["level"] == 7
    history = api.get(f"/items/{item}/stock-history").body["entries"]
    assert [(h["kind"], h["level_before"], h["level_after"], h["delta"], h["reason"]) for h in history] == [
        ("adjust", 10, 7, -3, "damaged"),
        ("set", 0, 10, 10, "count"),
    ]
    messages = stock_messages()
    assert [m["item_ids"] for m in messages] == [[item], [item]]
    assert all("level" not in m and "quantity" not in m for m in messages)


def test_given_an_adjustment_retried_with_its_key_when_sent_twice_then_applied_once(api):
    item = _item(api, "MUG-2")
    body = {"delta": 5, "reason": "delivery 42", "idempotency_key": "delivery-42"}

    first = api.post(f"/items/{item}/stock/default/adjustments", body)
    second = api.post(f"/items/{item}/stock/default/adjustments", body)

    assert (first.body["level"], first.body["replayed"]) == (5, False)
    assert (second.body["level"], second.body["replayed"]) == (5, True)
    assert len(api.get(f"/items/{item}/stock-history").body["entries"]) == 1


def test_given_an_idempotency_key_reused_for_another_delta_when_sent_then_409_naming_what_it_was_used_for(api):
    item = _item(api, "MUG-2B")
    api.post(f"/items/{item}/stock/default/adjustments", {"delta": 5, "reason": "delivery", "idempotency_key": "k-1"})

    reused = api.post(f"/items/{item}/stock/default/adjustments",
                      {"delta": -2, "reason": "sold", "idempotency_key": "k-1"})

    assert reused.status == 409
    assert reused.body["error"]["code"] == "idempotency_key_reused"
    assert reused.body["error"]["details"]["used_for"] == {"item_id": item, "location_id": "default", "delta": 5}
    assert "delta 5" in reused.body["error"]["message"]
    assert api.get(f"/items/{item}/stock").body[0]["level"] == 5


def test_given_one_idempotency_key_at_two_locations_when_sent_then_each_location_is_adjusted_once(api):
    item = _item(api, "MUG-2C")
    annex = _location(api, "Annex")
    body = {"delta": 4, "reason": "delivery 43", "idempotency_key": "delivery-43"}

    here = api.post(f"/items/{item}/stock/default/adjustments", body)
    there = api.post(f"/items/{item}/stock/{annex}/adjustments", body)
    there_again = api.post(f"/items/{item}/stock/{annex}/adjustments", body)

    assert (here.body["replayed"], there.body["replayed"], there_again.body["replayed"]) == (False, False, True)
    levels = {row["location_id"]: row["level"] for row in api.get(f"/items/{item}/stock").body}
    assert levels == {"default": 4, annex: 4}


def test_given_an_adjustment_below_zero_when_sent_then_409_and_level_unchanged(api, stock_messages):
    item = _item(api, "MUG-3")
    api.put(f"/items/{item}/stock/default", {"level": 2})
    stock_messages()

    answer = api.post(f"/items/{item}/stock/default/adjustments", {"delta": -3, "reason": "oops"})

    assert answer.status == 409
    assert answer.body["error"]["code"] == "negative_stock"
    assert api.get(f"/items/{item}/stock").body[0]["level"] == 2
    assert stock_messages() == []


def test_given_unknown_item_or_location_when_stock_set_then_404(api):
    item = _item(api, "MUG-4")
    assert api.put("/items/nope/stock/default", {"level": 1}).status == 404
    assert api.put(f"/items/{item}/stock/nowhere", {"level": 1}).status == 404
    assert api.put(f"/items/{item}/stock/default", {"level": -1}).status == 422


def test_given_two_locations_when_channel_sells_one_then_available_counts_only_it(api):
    item = _item(api, "LAMP")
    annex = _location(api, "Annex")
    api.put(f"/items/{item}/stock/default", {"level": 4})
    api.put(f"/items/{item}/stock/{annex}", {"level": 6})
    shop = api.post("/channels", {"name": "Shop", "type": "generic"}).body["channel_id"]
    both = api.post("/channels", {"name": "eBay", "type": "ebay", "location_ids": ["default", annex]}).body[
        "channel_id"
    ]

    availability = api.get(f"/items/{item}/available").body

    by_channel = {row["channel_id"]: row["available"] for row in availability["channels"]}
    assert by_channel == {shop: 4, both: 10}
    assert availability["all_locations"] == 10


def test_given_a_kit_when_components_have_stock_then_kit_available_is_the_scarcest(api, stock_messages):
    board, screw, shelf = _item(api, "BOARD"), _item(api, "SCREW"), _item(api, "SHELF")
    api.put(f"/items/{board}/stock/default", {"level": 9})
    api.put(f"/items/{screw}/stock/default", {"level": 100})
    api.post("/channels", {"name": "Shop", "type": "generic"})
    stock_messages()

    kit = api.put(f"/items/{shelf}/components",
                  {"components": [{"item_id": board, "quantity": 2}, {"item_id": screw, "quantity": 8}]})

    assert kit.status == 200
    assert kit.body["is_composite"] is True
    assert api.get(f"/items/{shelf}/available").body["channels"][0]["available"] == 4
    assert stock_messages()[0]["item_ids"] == [shelf]
    api.post(f"/items/{board}/stock/default/adjustments", {"delta": -5, "reason": "sold"})
    assert api.get(f"/items/{shelf}/available").body["channels"][0]["available"] == 2
    assert sorted(stock_messages()[0]["item_ids"]) == sorted([board, shelf])


def test_given_nested_kits_when_the_inner_kit_would_contain_the_outer_then_400_and_nothing_changes(api):
    a, b, c = _item(api, "A"), _item(api, "B"), _item(api, "C")
    api.put(f"/items/{a}/components", {"components": [{"item_id": b, "quantity": 1}]})
    api.put(f"/items/{b}/components", {"components": [{"item_id": c, "quantity": 2}]})

    answer = api.put(f"/items/{c}/components", {"components": [{"item_id": a, "quantity": 1}]})

    assert answer.status == 400
    assert answer.body["error"]["code"] == "composite_cycle"
    assert answer.body["error"]["details"]["cycle"] == [c, a, b, c]
    assert api.get(f"/items/{c}").body["is_composite"] is False


def test_given_a_kit_when_its_own_stock_is_set_then_409(api):
    part, kit = _item(api, "PART"), _item(api, "KIT")
    api.put(f"/items/{kit}/components", {"components": [{"item_id": part, "quantity": 1}]})

    answer = api.put(f"/items/{kit}/stock/default", {"level": 5})

    assert answer.status == 409
    assert answer.body["error"]["code"] == "composite_stock"


def test_given_a_component_of_a_kit_when_deleted_then_409_names_the_kit(api):
    part, kit = _item(api, "PART"), _item(api, "KIT")
    api.put(f"/items/{kit}/components", {"components": [{"item_id": part, "quantity": 1}]})

    answer = api.delete(f"/items/{part}")

    assert answer.status == 409
    assert answer.body["error"]["details"]["kit_ids"] == [kit]


def test_given_unknown_component_when_kit_set_then_400_and_item_stays_plain(api):
    kit = _item(api, "KIT")
    answer = api.put(f"/items/{kit}/components", {"components": [{"item_id": "ghost", "quantity": 1}]})
    assert answer.status == 400
    assert answer.body["error"]["details"]["item_ids"] == ["ghost"]
    assert api.get(f"/items/{kit}").body["is_composite"] is False


def test_given_a_location_that_never_had_stock_when_read_then_it_was_never_updated(api):
    item_id = _item(api, "NEVER-1")
    shelf = _location(api, "Back shelf")

    before = {row["location_id"]: row for row in api.get(f"/items/{item_id}/stock").body}
    api.put(f"/items/{item_id}/stock/{shelf}", {"level": 2})
    after = {row["location_id"]: row for row in api.get(f"/items/{item_id}/stock").body}

    assert before[shelf]["updated_at"] is None and before[shelf]["level"] == 0
    assert after[shelf]["updated_at"] is not None and after[shelf]["level"] == 2
    assert all(row["updated_at"] is None for location, row in after.items() if location != shelf)
