"""Builds the REST resolver: routers, validation, OpenAPI document and Swagger UI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer, OpenAPI, Server

from stocksync.api import (
    catalogue,
    catalogue_retrieval,
    channels,
    document,
    errors,
    items,
    jobs,
    locations,
    mapping,
    orders,
    pim,
    stock_sync,
)

OPENAPI: dict[str, Any] = {
    "title": "stocksync API",
    "version": "0.1.0",
    "description": (
        "The seller's master stock and its channels. Every request carries an Amazon Cognito access token "
        "of the stack's user pool as `Authorization: Bearer <token>`: a person's from the console's sign-in, "
        "or a machine's from the client credentials grant (scope stocksync-api/full). The local stack also "
        "takes the key `make run` printed as the x-api-key header."
    ),
    "security_schemes": {
        "cognitoAccessToken": HTTPBearer(
            scheme="bearer", bearerFormat="JWT",
            description="An access token of the user pool (InitiateAuth, or the token endpoint's client credentials)",
        ),
        "localApiKey": APIKey(name="x-api-key", in_=APIKeyIn.header, description="The local stack only"),
    },
    "security": [{"cognitoAccessToken": []}, {"localApiKey": []}],
    "servers": [Server(**server) for server in document.SERVERS],
}


class StockSyncResolver(APIGatewayRestResolver):
    """The REST resolver, refusing oversized and non-JSON bodies before validation parses them."""

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(enable_validation=True)
        self.max_body_bytes = max_body_bytes

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        return errors.refused_body(event, self.max_body_bytes) or super().resolve(event, context)

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPI:
        """The generated document with every error as the API answers it (see document.py)."""
        generated = super().get_openapi_schema(**kwargs).model_dump(by_alias=True, exclude_none=True, mode="json")
        return OpenAPI.model_validate(document.truthful(generated))


def build_app(max_body_bytes: int = 1_000_000) -> StockSyncResolver:
    app = StockSyncResolver(max_body_bytes)
    for module in (items, locations, channels, jobs, catalogue_retrieval, catalogue, pim, mapping, stock_sync,
                   orders):
        app.include_router(module.router)
    errors.register(app)
    app.enable_swagger(path="/swagger", **OPENAPI)
    return app


def openapi_json(app: APIGatewayRestResolver) -> str:
    return app.get_openapi_json_schema(**OPENAPI)
