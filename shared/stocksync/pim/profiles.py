"""The PIM connection (credentials in Secrets Manager) and sync profiles, validated against the PIM."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from stocksync.core import db
from stocksync.core.db import PimConnectionRecord, PimProfileRecord
from stocksync.core.errors import Conflict, InvalidInput, NotFound, PimError
from stocksync.core.http_client import RemoteError, RetryPolicy, TokenCache
from stocksync.core.secrets import CredentialStore
from stocksync.inventory.rules import normalize_sku
from stocksync.pim import units
from stocksync.pim.akeneo import AkeneoClient, AkeneoCredentials, problem_of, product_search
from stocksync.pim.model import (
    BARCODE_TYPES,
    DESCRIPTION_TYPES,
    IMAGE_TYPES,
    METRIC_TYPES,
    PRICE_TYPES,
    TITLE_TYPES,
    AttributeInfo,
    ProfileInput,
    ProfileSettings,
)

# --- the connection ------------------------------------------------------------------------


class ConnectionInput(AkeneoCredentials):
    enabled: bool = True


@dataclass(frozen=True)
class ConnectionTest:
    success: bool
    problem: str | None
    message: str
    pim_version: str | None = None
    pim_edition: str | None = None
    products_api: str | None = None


class PimConnections:
    def __init__(self, credentials: CredentialStore, secrets_prefix: str, tokens: TokenCache | None = None,
                 policy: RetryPolicy | None = None) -> None:
        self.credentials = credentials
        self.secret_name = f"{secrets_prefix}pim/connection"
        self.tokens = tokens or TokenCache()
        self.policy = policy  # None = the HttpClient's default; tests inject one that does not sleep

    def find(self) -> PimConnectionRecord | None:
        return db.get_or_none(PimConnectionRecord, PimConnectionRecord.keys())

    def get(self) -> PimConnectionRecord:
        record = self.find()
        if record is None:
            raise NotFound("No PIM connection yet: PUT /pim/connection with your Akeneo credentials first")
        return record

    def save(self, data: ConnectionInput) -> PimConnectionRecord:
        record = self.find() or PimConnectionRecord(**PimConnectionRecord.keys(), credentials_secret=self.secret_name)
        self.credentials.put(self.secret_name, data.model_dump(exclude={"enabled"}))
        if record.url != data.url:  # another PIM: its version is found again
            record.pim_version = record.pim_edition = record.products_api = None
        record.url, record.enabled, record.updated_at = data.url, data.enabled, db.now()
        record.last_test_at = record.last_test_status = None
        _save(record)
        return record

    def set_enabled(self, enabled: bool) -> PimConnectionRecord:
        record = self.get()
        record.enabled, record.updated_at = enabled, db.now()
        _save(record)
        return record

    def client(self, record: PimConnectionRecord | None = None) -> AkeneoClient:
        record = record or self.get()
        stored = self.credentials.get(record.credentials_secret, fresh=True)
        return AkeneoClient(AkeneoCredentials.model_validate(stored), tokens=self.tokens, policy=self.policy,
                            products_api=record.products_api)

    def test(self) -> ConnectionTest:
        """The password grant with the stored credentials: success, or exactly what failed."""
        record = self.get()
        client = self.client(record)
        try:
            client.authenticate()
            version = client.version()
        except (RemoteError, PimError) as exc:
            problem, message = problem_of(exc)
            record.last_test_at, record.last_test_status = db.now(), problem
            _save(record)
            return ConnectionTest(False, problem, message)
        record.pim_version, record.pim_edition, record.products_api = (
            version.version, version.edition, version.products_api)
        record.last_test_at, record.last_test_status = db.now(), "ok"
        _save(record)
        return ConnectionTest(True, None, "Connection successful", version.version, version.edition,
                              version.products_api)


def _save(record: PimConnectionRecord) -> None:
    """Saved only if nobody saved it since we read it: two saves or tests at once, the later one is told."""
    if not db.save_if(record):
        raise Conflict("The PIM connection was changed at the same moment by another request: read it and "
                       "try again", code="changed_meanwhile")


# --- what the PIM offers -------------------------------------------------------------------


@dataclass
class PimCatalog:
    """The PIM's channels, locales, categories and attributes, read once for a validation."""

    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    locales: set[str] = field(default_factory=set)
    category_parents: dict[str, str | None] = field(default_factory=dict)
    attributes: dict[str, AttributeInfo] = field(default_factory=dict)

    @classmethod
    def read(cls, client: AkeneoClient) -> PimCatalog:
        return cls(
            channels={channel["code"]: channel for channel in client.channels()},
            locales={locale["code"] for locale in client.locales()},
            category_parents={category["code"]: category.get("parent") for category in client.categories()},
            attributes={attribute["code"]: AttributeInfo.of(attribute) for attribute in client.attributes()},
        )

    def with_children(self, codes: Iterable[str]) -> list[str]:
        """The categories and every category below them (what the category filter selects)."""
        children: dict[str | None, list[str]] = {}
        for code, parent in self.category_parents.items():
            children.setdefault(parent, []).append(code)
        found: list[str] = []
        frontier = list(codes)
        while frontier:
            code = frontier.pop(0)
            if code in found:
                continue
            found.append(code)
            frontier.extend(sorted(children.get(code, [])))
        return found


def profile_problems(settings: ProfileSettings, catalog: PimCatalog, channel_ids: set[str]) -> list[dict[str, str]]:
    """Every way the profile does not fit the PIM or our channels, each naming its field."""
    problems: list[dict[str, str]] = []

    def problem(field_name: str, message: str) -> None:
        problems.append({"field": field_name, "message": message})

    channel = catalog.channels.get(settings.scope)
    if channel is None:
        problem("scope", f"Unknown Akeneo channel (scope) {settings.scope!r}")
    if settings.locale not in catalog.locales:
        problem("locale", f"Unknown or disabled Akeneo locale {settings.locale!r}")
    elif channel is not None and settings.locale not in (channel.get("locales") or []):
        problem("locale", f"Locale {settings.locale!r} is not activated on channel {settings.scope!r}")
    for index, code in enumerate(settings.categories):
        if code not in catalog.category_parents:
            problem(f"categories[{index}]", f"Unknown Akeneo category {code!r}")

    def attribute(field_name: str, code: str | None, types: tuple[str, ...], what: str) -> AttributeInfo | None:
        if not code:
            return None
        info = catalog.attributes.get(code)
        if info is None:
            problem(field_name, f"Unknown Akeneo attribute {code!r}")
        elif info.type not in types:
            problem(field_name, f"{what} needs an attribute of type {' or '.join(types)}; {code!r} is {info.type}")
        else:
            return info
        return None

    def target_channel(prefix: str, target: str, channel_id: str | None) -> None:
        if target == "channel" and not channel_id:
            problem(f"{prefix}.channel_id", "Choose the channel that receives this value")
        elif target == "channel" and channel_id not in channel_ids:
            problem(f"{prefix}.channel_id", f"Unknown channel {channel_id!r}")
        elif target != "channel" and channel_id:
            problem(f"{prefix}.channel_id", "A channel is only given with the channel target")

    for index, price in enumerate(settings.price_mappings):
        prefix = f"price_mappings[{index}]"
        attribute(f"{prefix}.attribute", price.attribute, PRICE_TYPES, "A price mapping")
        target_channel(prefix, price.target, price.channel_id)
        currencies = (channel or {}).get("currencies") or []
        if channel is not None and price.currency not in currencies:
            problem(f"{prefix}.currency", f"Channel {settings.scope!r} has no currency {price.currency!r}")
    for index, title in enumerate(settings.title_mappings):
        prefix = f"title_mappings[{index}]"
        attribute(f"{prefix}.attribute", title.attribute, TITLE_TYPES, "A title mapping")
        target_channel(prefix, title.target, title.channel_id)
    for index, description in enumerate(settings.description_mappings):
        prefix = f"description_mappings[{index}]"
        attribute(f"{prefix}.attribute", description.attribute, DESCRIPTION_TYPES, "A description mapping")
        target_channel(prefix, description.target, description.channel_id)

    product = settings.product_settings
    attribute("product_settings.main_image_attribute", product.main_image_attribute, IMAGE_TYPES, "The main image")
    attribute("product_settings.barcode_attribute", product.barcode_attribute, BARCODE_TYPES, "The barcode")
    for name, family in (("width", units.LENGTH), ("height", units.LENGTH), ("depth", units.LENGTH),
                         ("weight", units.WEIGHT)):
        setting = getattr(product, name)
        info = attribute(f"product_settings.{name}.attribute", setting.attribute, METRIC_TYPES, f"The {name}")
        if info is not None and info.metric_family and info.metric_family != family:
            problem(f"product_settings.{name}.attribute",
                    f"The {name} needs a {family} attribute; {info.code!r} measures {info.metric_family}")
        if setting.unit and setting.unit not in units.TARGET_UNITS[family]:
            problem(f"product_settings.{name}.unit",
                    f"The {name} is kept in one of {', '.join(units.TARGET_UNITS[family])}, not {setting.unit!r}")
    return problems


# --- profiles ------------------------------------------------------------------------------


class PimProfiles:
    def __init__(self, connections: PimConnections, channel_ids: Any) -> None:
        self.connections = connections
        self.channel_ids = channel_ids  # () -> set of our channel ids

    def list(self) -> list[PimProfileRecord]:
        return [p for p in PimProfileRecord.gsi1.query(db.PIM_PROFILES_PARTITION) if isinstance(p, PimProfileRecord)]

    def get(self, profile_id: str) -> PimProfileRecord:
        profile = db.get_or_none(PimProfileRecord, PimProfileRecord.keys(profile_id))
        if profile is None:
            raise NotFound(f"No PIM profile with id {profile_id}", details={"profile_id": profile_id})
        return profile

    def create(self, data: ProfileInput) -> PimProfileRecord:
        self.validate(data)
        profile_id = db.new_id()
        profile = PimProfileRecord(**PimProfileRecord.keys(profile_id, normalize_sku(data.name)),
                                   profile_id=profile_id)
        _apply(profile, data)
        profile.save(condition=PimProfileRecord.PK.does_not_exist())
        return profile

    def replace(self, profile_id: str, data: ProfileInput) -> PimProfileRecord:
        profile = self.get(profile_id)
        self.validate(data)
        profile.GSI1SK = PimProfileRecord.keys(profile_id, normalize_sku(data.name))["GSI1SK"]
        _apply(profile, data)
        profile.updated_at = db.now()
        profile.save()
        return profile

    def delete(self, profile_id: str) -> None:
        self.get(profile_id).delete()

    def mark_succeeded(self, profile_id: str, started_at: Any) -> None:
        profile = self.get(profile_id)
        if profile.last_success_at is None or profile.last_success_at < started_at:
            profile.update(actions=[PimProfileRecord.last_success_at.set(started_at)])

    def validate(self, settings: ProfileSettings) -> PimCatalog:
        catalog = PimCatalog.read(self.connections.client())
        problems = profile_problems(settings, catalog, set(self.channel_ids()))
        if problems:
            raise InvalidInput("The profile does not fit the PIM or your channels", details=problems,
                               code="invalid_profile")
        return catalog

    def count(self, settings: ProfileSettings) -> tuple[int, builtins.list[str]]:
        """How many products the profile's filters select, and the categories that includes."""
        client = self.connections.client()
        catalog = PimCatalog(category_parents={c["code"]: c.get("parent") for c in client.categories()})
        unknown = [{"field": f"categories[{i}]", "message": f"Unknown Akeneo category {code!r}"}
                   for i, code in enumerate(settings.categories) if code not in catalog.category_parents]
        if unknown:
            raise InvalidInput("The profile does not fit the PIM", details=unknown, code="invalid_profile")
        return client.count_products(product_search(settings.categories, None)), \
            catalog.with_children(settings.categories)


def settings_of(profile: PimProfileRecord) -> ProfileSettings:
    try:
        return ProfileSettings.model_validate(_plain(profile.settings.as_dict()))
    except ValidationError as exc:  # pragma: no cover - saved profiles were validated
        raise InvalidInput("The saved profile is no longer valid; save it again", code="invalid_profile") from exc


def _apply(profile: PimProfileRecord, data: ProfileInput) -> None:
    profile.name = data.name.strip()
    profile.enabled = data.enabled
    profile.settings = data.model_dump(mode="json", exclude={"name", "enabled"})


def _plain(value: Any) -> Any:
    """DynamoDB gives numbers back as Decimal; the profile is plain JSON again."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
