"""/pim: the Akeneo connection, the PIM's dropdowns, sync profiles and their runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from stocksync.api.context import services
from stocksync.api.models import (
    ConnectionPatch,
    JobList,
    JobOut,
    PimConnectionOut,
    PimConnectionTestOut,
    PimCountOut,
    PimOption,
    PimOptions,
    PimProfileList,
    PimProfileOut,
)
from stocksync.api.params import ProfileId
from stocksync.core.db import PimProfileRecord
from stocksync.core.errors import PimError
from stocksync.core.http_client import RemoteError
from stocksync.pim.akeneo import problem_of
from stocksync.pim.model import ProfileInput, ProfileSettings
from stocksync.pim.profiles import ConnectionInput, settings_of

router = Router()

TAGS = ["PIM"]


T = TypeVar("T")


def _from_pim(call: Callable[[], T]) -> T:
    """Calls that reach the PIM: its failures become a PimError (502 with the problem), never a 500."""
    try:
        return call()
    except RemoteError as exc:
        problem, message = problem_of(exc)
        raise PimError(message, problem=problem) from exc


def _label(labels: dict | None, code: str) -> str:
    labels = labels or {}
    return labels.get("en_US") or next(iter(labels.values()), None) or code


def _profile_out(record: PimProfileRecord) -> PimProfileOut:
    return PimProfileOut.of(record, settings_of(record).model_dump(mode="json"))


# --- connection ----------------------------------------------------------------------------


@router.put("/pim/connection", tags=TAGS, summary="Store the Akeneo connection (credentials go to Secrets Manager)")
def put_connection(connection: Annotated[ConnectionInput, Body()]) -> PimConnectionOut:
    return PimConnectionOut.of(services().pim.connections.save(connection))


@router.patch("/pim/connection", tags=TAGS, summary="Enable or disable the integration (periodic runs)")
def patch_connection(patch: Annotated[ConnectionPatch, Body()]) -> PimConnectionOut:
    return PimConnectionOut.of(services().pim.connections.set_enabled(patch.enabled))


@router.get("/pim/connection", tags=TAGS, summary="The Akeneo connection, without its secrets")
def get_connection() -> PimConnectionOut:
    return PimConnectionOut.of(services().pim.connections.get())


@router.post("/pim/connection/test", tags=TAGS,
             summary="Test Connection: log in to Akeneo; success, or bad_url / bad_credentials / unreachable")
def test_connection() -> PimConnectionTestOut:
    result = services().pim.connections.test()
    return PimConnectionTestOut(success=result.success, problem=result.problem, message=result.message,
                                pim_version=result.pim_version, pim_edition=result.pim_edition,
                                products_api=result.products_api)


# --- dropdowns from the PIM ------------------------------------------------------------------


@router.get("/pim/channels", tags=TAGS, summary="The PIM's channels (scopes), with their locales and currencies")
def pim_channels() -> PimOptions:
    channels = _from_pim(lambda: services().pim.connections.client().channels())
    return PimOptions(options=[
        PimOption(code=c["code"], label=_label(c.get("labels"), c["code"]), locales=list(c.get("locales") or []),
                  currencies=list(c.get("currencies") or []))
        for c in channels
    ])


@router.get("/pim/locales", tags=TAGS, summary="The PIM's enabled locales")
def pim_locales() -> PimOptions:
    locales = _from_pim(lambda: services().pim.connections.client().locales())
    return PimOptions(options=[PimOption(code=locale["code"], label=locale["code"]) for locale in locales])


@router.get("/pim/categories", tags=TAGS, summary="The PIM's categories (each with its parent: the tree)")
def pim_categories() -> PimOptions:
    categories = _from_pim(lambda: services().pim.connections.client().categories())
    return PimOptions(options=[
        PimOption(code=c["code"], label=_label(c.get("labels"), c["code"]), parent=c.get("parent"))
        for c in categories
    ])


@router.get("/pim/attributes", tags=TAGS, summary="The PIM's attributes, filtered by type (e.g. price collections)")
def pim_attributes(
    type: Annotated[str | None, Query(max_length=500, description="Akeneo attribute types, comma-separated, "
                                                                    "e.g. pim_catalog_price_collection")] = None,
) -> PimOptions:
    wanted = {part.strip() for part in (type or "").split(",") if part.strip()}
    attributes = _from_pim(lambda: services().pim.connections.client().attributes())
    return PimOptions(options=[
        PimOption(code=a["code"], label=_label(a.get("labels"), a["code"]), type=a["type"],
                  metric_family=a.get("metric_family"))
        for a in attributes if not wanted or a["type"] in wanted
    ])


# --- profiles ------------------------------------------------------------------------------


@router.post("/pim/profiles/count", tags=TAGS,
             summary="The product counter: how many products the filters select, before saving")
def count_products(settings: Annotated[ProfileSettings, Body()]) -> PimCountOut:
    count, categories = _from_pim(lambda: services().pim.profiles.count(settings))
    return PimCountOut(count=count, categories=categories)


@router.get("/pim/profiles", tags=TAGS, summary="Every sync profile")
def list_profiles() -> PimProfileList:
    return PimProfileList(profiles=[_profile_out(p) for p in services().pim.profiles.list()])


@router.post("/pim/profiles", tags=TAGS, summary="Save a sync profile (validated against the PIM)",
             status_code=201)
def create_profile(profile: Annotated[ProfileInput, Body()]) -> Response[PimProfileOut]:
    created = _from_pim(lambda: services().pim.profiles.create(profile))
    return Response(status_code=201, content_type="application/json", body=_profile_out(created))


@router.get("/pim/profiles/<profile_id>", tags=TAGS, summary="A sync profile")
def get_profile(profile_id: ProfileId) -> PimProfileOut:
    return _profile_out(services().pim.profiles.get(profile_id))


@router.put("/pim/profiles/<profile_id>", tags=TAGS, summary="Replace a sync profile")
def replace_profile(profile_id: ProfileId, profile: Annotated[ProfileInput, Body()]) -> PimProfileOut:
    return _profile_out(_from_pim(lambda: services().pim.profiles.replace(profile_id, profile)))


@router.delete("/pim/profiles/<profile_id>", tags=TAGS, summary="Delete a sync profile", status_code=204)
def delete_profile(profile_id: ProfileId) -> Response[None]:
    services().pim.profiles.delete(profile_id)
    return Response(status_code=204)


@router.post("/pim/profiles/<profile_id>/run", tags=TAGS,
             summary="Run Now: the run is queued and will run soon (it may not be in real time)",
             status_code=202)
def run_profile(profile_id: ProfileId) -> Response[JobOut]:
    job = services().pim.runs.run_now(profile_id)
    return Response(status_code=202, content_type="application/json", body=JobOut.of(job))


@router.get("/pim/profiles/<profile_id>/runs", tags=TAGS, summary="The profile's recent runs, newest first")
def list_runs(profile_id: ProfileId, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> JobList:
    return JobList(jobs=[JobOut.of(job) for job in services().pim.runs.list(profile_id, limit=limit)])
