"""Which adapter serves a channel type: each adapter's module is imported when a channel of its type is first served."""

from __future__ import annotations

from typing import Any

from stocksync.channels.base import ChannelAccount, ChannelAdapter
from stocksync.channels.types import ChannelType


def adapter_class(channel_type: str) -> type[ChannelAdapter]:
    from stocksync.channels.amazon import AmazonAdapter
    from stocksync.channels.ebay import EbayAdapter
    from stocksync.channels.generic import GenericAdapter
    from stocksync.channels.magento import MagentoAdapter
    from stocksync.channels.pixmania import PixmaniaAdapter
    from stocksync.channels.rakuten import RakutenAdapter

    classes: dict[ChannelType, type[ChannelAdapter]] = {
        ChannelType.AMAZON: AmazonAdapter,
        ChannelType.EBAY: EbayAdapter,
        ChannelType.MAGENTO: MagentoAdapter,
        ChannelType.PIXMANIA: PixmaniaAdapter,
        ChannelType.RAKUTEN: RakutenAdapter,
        ChannelType.GENERIC: GenericAdapter,
    }
    return classes[ChannelType(channel_type)]


def build_adapter(account: ChannelAccount, **kwargs: Any) -> ChannelAdapter:
    return adapter_class(account.channel_type)(account, **kwargs)
