"""The pynamodb model and template.yaml describe the same table: keys, indexes and TTL."""

from __future__ import annotations

from pynamodb.attributes import TTLAttribute

from infrastructure.local.template import load_template
from stocksync.core.db import Record


def _table() -> dict:
    return load_template().properties("Table")


def test_given_the_template_when_compared_with_the_model_then_the_keys_match():
    schema = Record._get_schema()
    model_keys = {(key["AttributeName"], key["KeyType"]) for key in schema["key_schema"]}
    template_keys = {(key["AttributeName"], key["KeyType"]) for key in _table()["KeySchema"]}
    assert model_keys == template_keys


def test_given_the_template_when_compared_with_the_model_then_every_index_matches():
    def indexes(rows):
        return {
            row["IndexName" if "IndexName" in row else "index_name"]: (
                {(k["AttributeName"], k["KeyType"]) for k in row.get("KeySchema") or row["key_schema"]},
                (row.get("Projection") or row["projection"])["ProjectionType"],
            )
            for row in rows
        }

    assert indexes(Record._get_schema()["global_secondary_indexes"]) == indexes(_table()["GlobalSecondaryIndexes"])


def test_given_the_template_when_compared_with_the_model_then_attribute_types_match():
    model = {row["AttributeName"]: row["AttributeType"] for row in Record._get_schema()["attribute_definitions"]}
    template = {row["AttributeName"]: row["AttributeType"] for row in _table()["AttributeDefinitions"]}
    assert model == template


def test_given_the_template_when_compared_with_the_model_then_ttl_uses_the_models_attribute():
    ttl = [attr.attr_name for attr in Record.get_attributes().values() if isinstance(attr, TTLAttribute)]
    assert ttl == [_table()["TimeToLiveSpecification"]["AttributeName"]]
    assert _table()["TimeToLiveSpecification"]["Enabled"] is True
