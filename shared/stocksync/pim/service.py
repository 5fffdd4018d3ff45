"""The PIM's services wired together once per container (the API, the jobs worker, the schedule)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stocksync.core.jobs import JobQueue, Jobs
from stocksync.core.secrets import CredentialStore
from stocksync.pim.profiles import PimConnections, PimProfiles
from stocksync.pim.runs import PimRunner, PimRuns


@dataclass(frozen=True)
class Pim:
    connections: PimConnections
    profiles: PimProfiles
    runs: PimRuns
    runner: PimRunner


def build_pim(*, credentials: CredentialStore, secrets_prefix: str, jobs: Jobs, job_queue: JobQueue,
              bucket: str, channel_ids: Callable[[], set[str]]) -> Pim:
    connections = PimConnections(credentials, secrets_prefix)
    profiles = PimProfiles(connections, channel_ids)
    return Pim(
        connections=connections,
        profiles=profiles,
        runs=PimRuns(connections, profiles, jobs, job_queue),
        runner=PimRunner(connections, profiles, jobs, job_queue, bucket),
    )
