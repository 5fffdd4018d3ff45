"""The shape of a sync profile, and what the PIM tells us about an attribute. Plain data, no AWS."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Akeneo attribute types each setting accepts (the attribute dropdowns filter by these).
PRICE_TYPES = ("pim_catalog_price_collection",)
TITLE_TYPES = ("pim_catalog_text", "pim_catalog_textarea", "pim_catalog_identifier")
DESCRIPTION_TYPES = ("pim_catalog_textarea", "pim_catalog_text")
IMAGE_TYPES = ("pim_catalog_image",)
BARCODE_TYPES = ("pim_catalog_text", "pim_catalog_identifier", "pim_catalog_number")
METRIC_TYPES = ("pim_catalog_metric",)
IDENTIFIER_TYPE = "pim_catalog_identifier"



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceMapping(_Strict):
    attribute: str = Field(min_length=1, max_length=255, description="An Akeneo price collection attribute")
    target: Literal["purchase_price", "retail_price", "channel"] = Field(
        description="Purchase Price, Retail Price, or a channel's price (then give channel_id)")
    channel_id: str | None = Field(default=None, max_length=64, description="Our channel, when target is channel")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="The currency of the price to take, e.g. EUR")


class TitleMapping(_Strict):
    attribute: str = Field(min_length=1, max_length=255, description="An Akeneo text attribute")
    target: Literal["item_title", "channel"] = Field(description="The item's title, or a channel's title")
    channel_id: str | None = Field(default=None, max_length=64)


class DescriptionMapping(_Strict):
    attribute: str = Field(min_length=1, max_length=255, description="An Akeneo text or textarea attribute")
    target: Literal["metadata", "channel"] = Field(
        description="metadata: the item's main description; channel: a channel's description")
    channel_id: str | None = Field(default=None, max_length=64)


class MetricSetting(_Strict):
    attribute: str | None = Field(default=None, max_length=255, description="A metric attribute; empty = not sent")
    unit: str | None = Field(default=None, max_length=50,
                             description="Unit to convert to (default CENTIMETER for dimensions, KILOGRAM for weight)")


class ProductSettings(_Strict):
    product_creation: bool = Field(default=True, description="Off: only existing SKUs are updated, none created")
    upload_images: bool = Field(default=False, description="Off (Do not Upload Images): no images are sent")
    main_image_attribute: str | None = Field(default=None, max_length=255)
    barcode_attribute: str | None = Field(default=None, max_length=255)
    width: MetricSetting = Field(default_factory=MetricSetting)
    height: MetricSetting = Field(default_factory=MetricSetting)
    depth: MetricSetting = Field(default_factory=MetricSetting)
    weight: MetricSetting = Field(default_factory=MetricSetting)


class ExtendedPropertiesSettings(_Strict):
    map_all_attributes: bool = Field(default=False, description="Every Akeneo attribute becomes an extended property")
    prefix: str = Field(default="", max_length=50, description="Put before every extended property name; may be blank")


class ProfileSettings(_Strict):
    scope: str = Field(min_length=1, max_length=255, description="The Akeneo channel (scope) to read values for")
    locale: str = Field(min_length=1, max_length=50, description="The Akeneo locale to read values for")
    categories: list[str] = Field(default_factory=list, max_length=100,
                                  description="Only products in these categories or their children; empty = all")
    price_mappings: list[PriceMapping] = Field(default_factory=list, max_length=50)
    title_mappings: list[TitleMapping] = Field(default_factory=list, max_length=50)
    description_mappings: list[DescriptionMapping] = Field(default_factory=list, max_length=50)
    product_settings: ProductSettings = Field(default_factory=ProductSettings)
    extended_properties: ExtendedPropertiesSettings = Field(default_factory=ExtendedPropertiesSettings)


class ProfileInput(ProfileSettings):
    name: str = Field(min_length=1, max_length=200)
    enabled: bool = Field(default=True, description="Run periodically (when the connection is enabled too)")


@dataclass(frozen=True)
class AttributeInfo:
    """One Akeneo attribute, as /api/rest/v1/attributes describes it."""

    code: str
    type: str
    metric_family: str | None = None
    default_metric_unit: str | None = None
    localizable: bool = False
    scopable: bool = False
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, data: dict[str, Any]) -> AttributeInfo:
        return cls(code=data["code"], type=data["type"], metric_family=data.get("metric_family"),
                    default_metric_unit=data.get("default_metric_unit"),
                    localizable=bool(data.get("localizable")), scopable=bool(data.get("scopable")),
                    labels=dict(data.get("labels") or {}))
