"""PIM mapping, units and profile validation: plain functions over plain data (no AWS, no sockets)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from infrastructure.standins.akeneo import ATTRIBUTES, CATEGORIES, CHANNELS, demo_product
from stocksync.pim.akeneo import PRODUCTS, PRODUCTS_UUID, product_search, products_api_for
from stocksync.pim.model import AttributeInfo, ProfileSettings
from stocksync.pim.product_fields import BrokenValue, map_product
from stocksync.pim.profiles import PimCatalog, profile_problems
from stocksync.pim.units import UnitError, convert

ATTRS = {code: AttributeInfo.of({"code": code, "type": kind, **extra}) for code, kind, extra in ATTRIBUTES}


def _settings(**overrides) -> ProfileSettings:
    return ProfileSettings.model_validate({"scope": "ecommerce", "locale": "en_US", **overrides})


def _catalog() -> PimCatalog:
    return PimCatalog(channels={c["code"]: c for c in CHANNELS}, locales={"en_US", "fr_FR"},
                      category_parents=dict(CATEGORIES), attributes=ATTRS)


# --- units -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "source", "target", "expected"), [
    ("1500", "GRAM", "KILOGRAM", Decimal("1.5")),
    ("2.5", "KILOGRAM", "GRAM", Decimal("2500")),
    ("12", "MILLIMETER", "CENTIMETER", Decimal("1.2")),
    ("3", "CENTIMETER", "MILLIMETER", Decimal("30")),
    ("1", "POUND", "GRAM", Decimal("453.59237")),
    ("10", "INCH", "CENTIMETER", Decimal("25.4")),
])
def test_given_a_metric_when_converted_then_it_is_in_the_target_unit(amount, source, target, expected):
    assert convert(amount, source, target) == expected


def test_given_units_of_different_families_when_converted_then_it_is_refused():
    with pytest.raises(UnitError, match="cannot convert"):
        convert("1", "GRAM", "METER")
    with pytest.raises(UnitError, match="unknown unit"):
        convert("1", "STONE", "GRAM")
    with pytest.raises(UnitError, match="not a number"):
        convert("heavy", "GRAM", "KILOGRAM")


# --- mapping ---------------------------------------------------------------------------------


def test_given_every_mapping_target_when_a_product_is_mapped_then_each_value_goes_where_it_is_mapped():
    product = demo_product("MUG-BLUE", "Ceramic mug, blue", ["mugs"], "9.90", image="mug.png")
    settings = _settings(
        price_mappings=[{"attribute": "price", "target": "retail_price", "currency": "EUR"},
                        {"attribute": "cost", "target": "purchase_price", "currency": "EUR"},
                        {"attribute": "price", "target": "channel", "channel_id": "web", "currency": "USD"}],
        title_mappings=[{"attribute": "name", "target": "item_title"},
                        {"attribute": "marketplace_title", "target": "channel", "channel_id": "web"}],
        description_mappings=[{"attribute": "description", "target": "metadata"},
                              {"attribute": "short_description", "target": "channel", "channel_id": "ebay"}],
        product_settings={"barcode_attribute": "ean", "upload_images": True, "main_image_attribute": "main_image",
                          "weight": {"attribute": "weight", "unit": "KILOGRAM"},
                          "width": {"attribute": "width", "unit": "CENTIMETER"},
                          "height": {"attribute": "height"}, "depth": {"attribute": "depth", "unit": "MILLIMETER"}},
    )

    changes = map_product(product, settings, ATTRS)

    assert changes.sku == "MUG-BLUE"
    assert changes.fields["retail_price"] == 9.9
    assert changes.fields["purchase_price"] == 3.96
    assert changes.fields["title"] == "Ceramic mug, blue"
    assert changes.fields["description"] == "<p>Ceramic mug, blue, described for the web shop.</p>"
    assert changes.fields["barcode"].startswith("50")
    assert changes.fields["weight"] == 0.35
    assert changes.dimensions == {"width": 9.0, "height": 11.0, "depth": 90.0}
    assert changes.channel_fields == {"web": {"price": 9.9, "title": "Ceramic mug, blue - free delivery"},
                                      "ebay": {"description": "Ceramic mug, blue in short"}}
    assert changes.images == ["mug.png"]
    assert changes.extended_properties == {}


def test_given_empty_settings_when_a_product_is_mapped_then_nothing_is_sent():
    product = demo_product("MUG-BLUE", "Mug", ["mugs"], "9.90", image="mug.png")

    changes = map_product(product, _settings(), ATTRS)

    assert (changes.fields, changes.dimensions, changes.channel_fields, changes.images,
            changes.extended_properties) == ({}, {}, {}, [], {})


def test_given_images_off_when_mapped_then_no_images_are_sent():
    product = demo_product("MUG-BLUE", "Mug", ["mugs"], "9.90", image="mug.png")
    settings = _settings(product_settings={"upload_images": False, "main_image_attribute": "main_image"})
    assert map_product(product, settings, ATTRS).images == []


def test_given_map_all_with_a_prefix_when_mapped_then_every_attribute_is_an_extended_property_with_the_prefix():
    product = demo_product("MUG-BLUE", "Mug", ["mugs"], "9.90")
    settings = _settings(extended_properties={"map_all_attributes": True, "prefix": "ak_"})

    properties = map_product(product, settings, ATTRS).extended_properties

    assert properties["ak_color"] == "blue"
    assert properties["ak_organic"] == "false"
    assert properties["ak_weight"] == "350 GRAM"
    assert properties["ak_price"] == "9.90 EUR, 9.90 USD"
    assert properties["ak_name"] == "Mug"  # the en_US value, not fr_FR
    assert all(name.startswith("ak_") for name in properties)


def test_given_a_blank_prefix_when_mapped_then_names_are_the_attribute_codes():
    product = demo_product("MUG-BLUE", "Mug", ["mugs"], "9.90")
    settings = _settings(extended_properties={"map_all_attributes": True, "prefix": ""})
    assert "color" in map_product(product, settings, ATTRS).extended_properties


def test_given_a_price_that_is_not_a_number_when_mapped_then_the_product_is_a_broken_value():
    product = demo_product("AK-BROKEN-01", "Broken", ["lamps"], "not-a-number")
    settings = _settings(price_mappings=[{"attribute": "price", "target": "retail_price", "currency": "EUR"}])

    with pytest.raises(BrokenValue) as broken:
        map_product(product, settings, ATTRS)
    assert broken.value.attribute == "price"


def test_given_a_metric_in_a_unit_of_another_family_when_mapped_then_it_is_a_broken_value():
    product = demo_product("X", "X", [], "1")
    product["values"]["weight"] = [{"data": {"amount": "3", "unit": "METER"}}]
    settings = _settings(product_settings={"weight": {"attribute": "weight"}})
    with pytest.raises(BrokenValue, match="cannot convert"):
        map_product(product, settings, ATTRS)


def test_given_a_uuid_product_when_mapped_then_the_sku_is_its_identifier_value():
    product = demo_product("TEE-BLACK", "Tee", [], "1")
    del product["identifier"]
    assert map_product(product, _settings(), ATTRS).sku == "TEE-BLACK"


def test_given_a_missing_currency_when_mapped_then_no_price_is_sent():
    product = demo_product("X", "X", [], "5")
    settings = _settings(price_mappings=[{"attribute": "price", "target": "retail_price", "currency": "GBP"}])
    assert "retail_price" not in map_product(product, settings, ATTRS).fields


# --- the PIM's version and the search filter ----------------------------------------------------


@pytest.mark.parametrize(("version", "edition", "api"), [
    ("7.0.40", "EE", PRODUCTS_UUID), ("6.0.28", "CE", PRODUCTS), (None, None, PRODUCTS),
    ("v20230112013744", "Serenity", PRODUCTS_UUID), ("20210521041041", "GE", PRODUCTS_UUID),
])
def test_given_a_pim_version_when_read_then_the_products_api_follows_it(version, edition, api):
    assert products_api_for(version, edition) == api


def test_given_categories_and_a_time_when_searching_then_children_and_updated_are_filtered():
    from datetime import UTC, datetime

    search = product_search(["clothing"], datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    assert search == {"categories": [{"operator": "IN CHILDREN", "value": ["clothing"]}],
                      "updated": [{"operator": ">", "value": "2024-05-01 10:00:00"}]}


# --- validation ------------------------------------------------------------------------------


def test_given_a_category_when_expanded_then_every_child_is_included():
    assert _catalog().with_children(["clothing"]) == ["clothing", "caps", "tshirts"]


def test_given_a_valid_profile_when_validated_then_there_is_no_problem():
    settings = _settings(price_mappings=[{"attribute": "price", "target": "channel", "channel_id": "web",
                                          "currency": "EUR"}],
                         categories=["clothing"],
                         product_settings={"weight": {"attribute": "weight", "unit": "GRAM"}})
    assert profile_problems(settings, _catalog(), {"web"}) == []


@pytest.mark.parametrize(("overrides", "field"), [
    ({"scope": "mobile"}, "scope"),
    ({"locale": "de_DE"}, "locale"),
    ({"categories": ["nope"]}, "categories[0]"),
    ({"price_mappings": [{"attribute": "nope", "target": "retail_price", "currency": "EUR"}]},
     "price_mappings[0].attribute"),
    ({"price_mappings": [{"attribute": "name", "target": "retail_price", "currency": "EUR"}]},
     "price_mappings[0].attribute"),
    ({"price_mappings": [{"attribute": "price", "target": "retail_price", "currency": "GBP"}]},
     "price_mappings[0].currency"),
    ({"title_mappings": [{"attribute": "price", "target": "item_title"}]}, "title_mappings[0].attribute"),
    ({"title_mappings": [{"attribute": "name", "target": "channel", "channel_id": "amazon"}]},
     "title_mappings[0].channel_id"),
    ({"description_mappings": [{"attribute": "name", "target": "channel"}]}, "description_mappings[0].channel_id"),
    ({"product_settings": {"main_image_attribute": "name"}}, "product_settings.main_image_attribute"),
    ({"product_settings": {"weight": {"attribute": "width"}}}, "product_settings.weight.attribute"),
    ({"product_settings": {"width": {"attribute": "width", "unit": "KILOGRAM"}}}, "product_settings.width.unit"),
])
def test_given_a_profile_that_does_not_fit_when_validated_then_the_field_is_named(overrides, field):
    problems = profile_problems(_settings(**overrides), _catalog(), {"web"})
    assert field in [problem["field"] for problem in problems]
