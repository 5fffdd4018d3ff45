"""REST API handler: API Gateway proxy events in, the stocksync resolver answers."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from stocksync.api.app import build_app
from stocksync.api.context import services
from stocksync.core.observability import logger, metrics, tracer

services()  # a missing variable fails the cold start, naming it
app = build_app()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
