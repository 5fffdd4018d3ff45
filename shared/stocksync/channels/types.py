"""What each channel type needs: its settings and the credential fields its API asks for.

The adapters read these; the API validates against them. A channel's mapping settings (auto-link,
default listing limits) are settings of the channel like any other, so they live here too.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stocksync.core.errors import InvalidInput
from stocksync.core.urls import OutboundUrl

AutoLinkBy = Literal["sku", "barcode", "asin"]
MAX_LIMIT = 10_000_000


class ListingLimits(BaseModel):
    """Max Listed, End When and Percentage; None = the channel's default (or no limit)."""

    model_config = ConfigDict(extra="forbid")
    max_listed: int | None = Field(default=None, ge=0, le=MAX_LIMIT, description="Never submit more than this")
    end_when: int | None = Field(default=None, ge=0, le=MAX_LIMIT,
                                 description="When available is at or below this, submit 0")
    percentage: float | None = Field(default=None, ge=0, le=100, description="Submit this share of available")


class MappingSettings(BaseModel):
    """Every channel type's mapping settings (`settings.mapping` of a channel)."""

    model_config = ConfigDict(extra="forbid")
    auto_link_by: AutoLinkBy = Field(
        default="sku", description="sku: SKUs only; barcode / asin: also the listing's barcode (EAN/UPC) or ASIN "
                                   "when no item has the listing's SKU")
    one_listing_per_item: bool = Field(
        default=False, description="Auto-link never links two listings of this channel to one item")
    default_limits: ListingLimits = Field(default_factory=ListingLimits,
                                          description="Listing limits of listings that have none of their own")
    create_item_location_id: str | None = Field(
        default=None, description="Where 'create item' puts the listing's quantity; default: the default "
                                  "location when the channel sells from it, else the channel's first location")



class ChannelType(StrEnum):
    AMAZON = "amazon"
    EBAY = "ebay"
    RAKUTEN = "rakuten"
    PIXMANIA = "pixmania"
    MAGENTO = "magento"
    GENERIC = "generic"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mapping: MappingSettings = Field(default_factory=MappingSettings,
                                     description="Auto-link, default listing limits, where created items go")
    order_location_id: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="Where this channel's orders allocate and ship stock from; null = the default location")


class AmazonSettings(_Settings):
    seller_id: str = ""
    region: Literal["na", "eu", "fe"] = "eu"
    marketplace_ids: list[str] = Field(default_factory=lambda: ["A1F83G8C2ARO7P"], min_length=1)
    feed_threshold: int = Field(default=50, ge=1, le=10_000,
                                description="Above this many listings per run, stock goes by JSON_LISTINGS_FEED")
    sp_api_endpoint: OutboundUrl | None = Field(default=None, description="Overrides the region's SP-API host")
    lwa_endpoint: OutboundUrl | None = Field(default=None, description="Overrides Login with Amazon's token URL")


class EbaySettings(_Settings):
    marketplace_id: str = "EBAY_GB"
    sandbox: bool = False
    api_base_url: OutboundUrl | None = Field(default=None, description="Overrides https://api.ebay.com (and sandbox)")


class RakutenSettings(_Settings):
    base_url: OutboundUrl | None = None
    shop_id: str = ""


class PixmaniaSettings(_Settings):
    base_url: OutboundUrl | None = Field(default=None, description="The Mirakl marketplace URL")
    shop_id: str = ""


class WebsiteSettings(_Settings):
    base_url: OutboundUrl | None = None
    out_of_stock_mode: Literal["disable", "zero_backorder"] = "disable"


class MagentoSettings(WebsiteSettings):
    store_code: str = "default"
    inventory_api: Literal["msi", "legacy"] = "msi"
    source_codes: dict[str, str] = Field(
        default_factory=dict, description="Our location id -> Magento MSI source code"
    )


SETTINGS: dict[ChannelType, type[_Settings]] = {
    ChannelType.AMAZON: AmazonSettings,
    ChannelType.EBAY: EbaySettings,
    ChannelType.RAKUTEN: RakutenSettings,
    ChannelType.PIXMANIA: PixmaniaSettings,
    ChannelType.MAGENTO: MagentoSettings,
    ChannelType.GENERIC: WebsiteSettings,
}

# Each entry is one accepted set of credential fields; any one complete set will do.
CREDENTIALS: dict[ChannelType, list[set[str]]] = {
    ChannelType.AMAZON: [{"lwa_client_id", "lwa_client_secret", "refresh_token"}],
    ChannelType.EBAY: [{"client_id", "client_secret", "refresh_token"}],
    ChannelType.RAKUTEN: [{"api_key"}],
    ChannelType.PIXMANIA: [{"api_key"}],
    ChannelType.MAGENTO: [
        {"access_token"},
        {"consumer_key", "consumer_secret", "access_token", "access_token_secret"},
    ],
    ChannelType.GENERIC: [{"api_key"}],
}


def validate_settings(channel_type: ChannelType, settings: dict) -> dict:
    try:
        model = SETTINGS[channel_type].model_validate(settings)
    except ValidationError as exc:
        raise InvalidInput(
            f"Invalid settings for a {channel_type} channel",
            details=[
                {"field": ".".join(["settings", *map(str, error["loc"])]), "message": error["msg"]}
                for error in exc.errors()
            ],
        ) from exc
    return model.model_dump(mode="json")


def validate_credentials(channel_type: ChannelType, credentials: dict[str, str]) -> None:
    given = {name for name, value in credentials.items() if value}
    accepted = CREDENTIALS[channel_type]
    if not any(fields <= given for fields in accepted):
        raise InvalidInput(
            f"Incomplete credentials for a {channel_type} channel",
            details={"field": "credentials", "accepted_sets": [sorted(fields) for fields in accepted]},
        )
