"""The demo seller's sign-in on the local stack: a person in the template's Cognito user pool, on the
embedded AWS, and what the console needs to sign them in.

The console signs in with Cognito's `InitiateAuth` (USER_PASSWORD_AUTH) through its own app client,
POSTed to `endpoint`: on AWS Cognito's regional endpoint, locally the embedded AWS, which answers it
(and the browser's CORS preflight) with tokens the local API gateway checks as API Gateway would.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import boto3

from infrastructure.local.provision import ProvisionedStack

DEMO_USERNAME = "demo@stocksync.local"
_USER_POOL = "AWS::Cognito::UserPool"
_USER_POOL_CLIENT = "AWS::Cognito::UserPoolClient"
_CONSOLE_AUTH_FLOW = "ALLOW_USER_PASSWORD_AUTH"
# Easy to read aloud and to type: no look-alikes (l/1, O/0).
_WORDS = (
    "amber", "anchor", "basil", "cedar", "copper", "delta", "ember", "fable", "garnet", "harbor",
    "juniper", "kestrel", "lantern", "maple", "meadow", "nectar", "orchid", "pepper", "quartz", "river",
    "saffron", "tandem", "umber", "velvet", "willow", "zephyr",
)


class DemoSignInError(RuntimeError):
    """The demo seller could not be made a user of the pool; the message says why."""


@dataclass(frozen=True)
class SignIn:
    """How a person signs in to the console, and as whom (the demo seller, locally)."""

    region: str
    user_pool_id: str
    client_id: str  # the console's app client
    endpoint: str  # where the browser POSTs InitiateAuth
    username: str  # the demo seller's sign-in
    password: str

    def console_config(self) -> dict[str, str]:
        """The `signIn` object of the console's config.json."""
        return {"region": self.region, "userPoolId": self.user_pool_id, "clientId": self.client_id,
                "endpoint": self.endpoint}

    def as_dict(self) -> dict[str, str]:
        """All six fields, as the READY line carries them."""
        return asdict(self)


def demo_sign_in(stack: ProvisionedStack, aws_endpoint: str, password: str | None = None,
                 username: str = DEMO_USERNAME) -> SignIn:
    """Make `username` a confirmed user of the template's user pool with the permanent `password`
    (a random, readable one when None) and answer how the console signs them in."""
    pool_id = _user_pool_id(stack)
    client_id = _console_client_id(stack, pool_id)
    cognito = boto3.client("cognito-idp", region_name=stack.region)
    chosen = password or readable_password()
    # A user kept from an earlier start keeps its name; the password below is set again.
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):
        cognito.admin_create_user(
            UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": username}, {"Name": "email_verified", "Value": "true"}],
        )
    try:
        cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=chosen, Permanent=True)
    except cognito.exceptions.InvalidPasswordException:
        policy = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Policies"]["PasswordPolicy"]
        raise DemoSignInError(
            f"STOCKSYNC_DEMO_PASSWORD does not meet the user pool's password policy: {describe_policy(policy)}"
        ) from None
    return SignIn(region=stack.region, user_pool_id=pool_id, client_id=client_id,
                  endpoint=f"{aws_endpoint.rstrip('/')}/", username=username, password=chosen)


def readable_password() -> str:
    """Two words, four digits and hyphens (`Harbor-Quartz-4821`): meets a policy asking for
    14 characters with upper and lower case, a number and a symbol."""
    first, second = (secrets.choice(_WORDS).capitalize() for _ in range(2))
    return f"{first}-{second}-{secrets.randbelow(10_000):04d}"


def describe_policy(policy: Mapping[str, Any]) -> str:
    """A password policy in words: "at least 14 characters, with a lower-case letter, ..."."""
    wanted = [label for key, label in (("RequireLowercase", "a lower-case letter"),
                                       ("RequireUppercase", "an upper-case letter"),
                                       ("RequireNumbers", "a number"), ("RequireSymbols", "a symbol"))
              if policy.get(key)]
    length = f"at least {policy.get('MinimumLength', 8)} characters"
    return f"{length}, with {', '.join(wanted)}" if wanted else length


def _user_pool_id(stack: ProvisionedStack) -> str:
    pools = [logical_id for logical_id in stack.resources
             if stack.resources[logical_id].resource_type == _USER_POOL]
    if len(pools) != 1:
        raise DemoSignInError(f"the template must declare exactly one {_USER_POOL} for the console, not {len(pools)}")
    return stack.ref(pools[0])


def _console_client_id(stack: ProvisionedStack, pool_id: str) -> str:
    """The pool's app client a browser signs in with: password sign-in allowed, no secret."""
    consoles = []
    for logical_id, resource in stack.resources.items():
        if resource.resource_type != _USER_POOL_CLIENT:
            continue
        properties = stack.resolve(stack.template.properties(logical_id)) or {}
        flows = properties.get("ExplicitAuthFlows") or []
        if properties.get("UserPoolId") == pool_id and _CONSOLE_AUTH_FLOW in flows and not properties.get(
                "GenerateSecret"):
            consoles.append(resource.ref)
    if len(consoles) != 1:
        raise DemoSignInError(
            f"the user pool must have exactly one app client with {_CONSOLE_AUTH_FLOW} and no secret "
            f"(the console's), not {len(consoles)}"
        )
    return consoles[0]
