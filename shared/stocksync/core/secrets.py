"""Channel credentials in SSM Parameter Store, as SecureString parameters encrypted with the
account's `aws/ssm` KMS key (as secrets are with `aws/secretsmanager`): reading one takes
ssm:GetParameter on its path, which only the functions that use credentials have (template.yaml).
The table only ever holds the parameter's name.

Parameter Store rather than Secrets Manager: nothing here rotates on its own (a channel's tokens are
refreshed by the adapters, and saved by the seller), and a standard parameter costs nothing to keep,
where a secret is $0.40 a month: six channels and the PIM connection were a tenth of a seller's day.
Values over a standard parameter's 4 KB go to the advanced tier by themselves (Intelligent-Tiering).
"""

from __future__ import annotations

import json
from typing import Protocol

from stocksync.core.aws import client

TIER = "Intelligent-Tiering"  # standard (free) up to 4 KB, advanced beyond


class CredentialStore(Protocol):
    def put(self, name: str, credentials: dict[str, str]) -> None: ...

    def get(self, name: str, *, fresh: bool = False) -> dict[str, str]: ...

    def delete(self, name: str) -> None: ...


class ParameterStore:
    """`name` is a parameter path such as /stocksync/<stack>/channels/<id>."""

    def put(self, name: str, credentials: dict[str, str]) -> None:
        ssm = client("ssm")
        parameter = {"Name": name, "Value": json.dumps(credentials), "Type": "SecureString", "Tier": TIER}
        try:
            ssm.put_parameter(**parameter, Description="stocksync channel credentials",
                              Tags=[{"Key": "app", "Value": "stocksync"}])
        except ssm.exceptions.ParameterAlreadyExists:  # tags go with the first version only
            ssm.put_parameter(**parameter, Overwrite=True)

    def get(self, name: str, *, fresh: bool = False) -> dict[str, str]:
        """The credentials, cached for 5 minutes unless `fresh` (just after the seller changed them)."""
        from aws_lambda_powertools.utilities import parameters

        return parameters.get_parameter(name, decrypt=True, transform="json", max_age=300, force_fetch=fresh)

    def delete(self, name: str) -> None:
        ssm = client("ssm")
        try:
            ssm.delete_parameter(Name=name)
        except ssm.exceptions.ParameterNotFound:
            return
