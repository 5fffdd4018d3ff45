"""Channel credentials in AWS Secrets Manager. The table only ever holds the secret's name."""

from __future__ import annotations

import json
from typing import Protocol

from stocksync.core.aws import client

RECOVERY_WINDOW_DAYS = 7


class CredentialStore(Protocol):
    def put(self, name: str, credentials: dict[str, str]) -> None: ...

    def get(self, name: str, *, fresh: bool = False) -> dict[str, str]: ...

    def delete(self, name: str) -> None: ...


class SecretsManagerStore:
    def put(self, name: str, credentials: dict[str, str]) -> None:
        secrets = client("secretsmanager")
        payload = json.dumps(credentials)
        try:
            secrets.put_secret_value(SecretId=name, SecretString=payload)
        except secrets.exceptions.ResourceNotFoundException:
            secrets.create_secret(
                Name=name,
                SecretString=payload,
                Description="stocksync channel credentials",
                Tags=[{"Key": "app", "Value": "stocksync"}],
            )

    def get(self, name: str, *, fresh: bool = False) -> dict[str, str]:
        """The secret, cached for 5 minutes unless `fresh` (just after the seller changed it)."""
        from aws_lambda_powertools.utilities import parameters

        return parameters.get_secret(name, transform="json", max_age=300, force_fetch=fresh)

    def delete(self, name: str) -> None:
        secrets = client("secretsmanager")
        try:
            secrets.delete_secret(SecretId=name, RecoveryWindowInDays=RECOVERY_WINDOW_DAYS)
        except secrets.exceptions.ResourceNotFoundException:
            return
