"""Path and query parameters more than one route takes, each defined once.

A route's own filters (`q`, `kind`, `load_id`...) stay beside it; these are the ones routes share.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

# Every id the API hands out fits the table's key attributes.
Id = Annotated[str, Path(min_length=1, max_length=64)]
ChannelId = Id
ItemId = Id
LocationId = Id
OrderId = Id
ProfileId = Id
JobId = Id

Sku = Annotated[str, Path(min_length=1, max_length=600,
                          description="The channel SKU, percent-encoded twice when it holds / or %")]
# The sync log takes the SKU as the path gives it (shorter, not decoded again), unlike Sku.
SyncLogSku = Annotated[str, Path(min_length=1, max_length=200)]

Limit = Annotated[int, Query(ge=1, le=200, description="Rows per page")]
Cursor = Annotated[str | None, Query(max_length=2000, description="next_cursor of the previous page")]
# The same paging for routes whose document carries no description of it: the document stays as it is.
PlainLimit = Annotated[int, Query(ge=1, le=200)]
PlainCursor = Annotated[str | None, Query(max_length=2000)]

DryRun = Annotated[bool, Query(description="Validate and report what would change; apply nothing")]
