"""Recomputing every user's effective roles after the tenant's role mappings change.

A mapping change can move the roles of any member of the groups it names (and of groups nested in
them), and a new default role those of every user without a mapped group; so the job walks the
tenant's users in id order, in bounded batches of `batch_size`, recomputing each (`core.roles`:
a constant number of calls per user), and records its cursor after each batch (`RoleJobs`). A
batch that fails is run again from the recorded cursor: recomputing a user twice writes nothing
the second time (the roles write is conditional on a difference), so each change is announced
once. The batches run where a tenant reset's do (the TenantReset function, re-invoking itself).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.roles import RoleService, uses_roles
from core.store.keys import Kind, resources_pk
from core.store.memberships_table import MembershipTable
from core.store.resources_table import Actor, ResourceTable
from core.store.role_jobs import RoleJob, RoleJobs

if TYPE_CHECKING:  # the SCIM functions start jobs (`start_job`) without the tenant store
    from mypy_boto3_dynamodb import DynamoDBClient

    from core.store.tenants_table import TenantTable

BATCH_SIZE = 100
WorkerStarter = Callable[[str, str], None]  # (tenant id, job id)


def start_job(
    jobs: RoleJobs, tenant_id: str, now: str, job_id: str, start_worker: WorkerStarter | None = None
) -> RoleJob:
    """Record a new job (replacing a running one: the facts it started from changed again) and
    hand it to its worker (`start_worker(tenant_id, job_id)`: an asynchronous Invoke). The one way
    to start a recompute: after a mapping change (core.management, `RoleRecompute.start`) and after
    a group change that can move roles (core.groups.service, through handlers.reset_worker)."""
    job = RoleJob(tenant_id, job_id, "running", now, now)
    jobs.start(job)
    if start_worker is not None:
        start_worker(tenant_id, job.job_id)
    return job


class RoleRecompute:
    def __init__(
        self,
        tenants: TenantTable,
        resources: ResourceTable,
        roles: RoleService,
        jobs: RoleJobs,
        clock: Callable[[], str],
        *,
        batch_size: int = BATCH_SIZE,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._tenants = tenants
        self._resources = resources
        self._roles = roles
        self._jobs = jobs
        self._clock = clock
        self._batch_size = batch_size
        self._new_id = new_id

    @classmethod
    def on_table(cls, db: DynamoDBClient, table_name: str, clock: Callable[[], str]) -> RoleRecompute:
        """The job and its stores on one table: what the TenantReset function and scimctl run."""
        from core.store.tenants_table import TenantTable  # noqa: PLC0415 - the workers' only (see the imports)

        resources = ResourceTable(db, table_name)
        roles = RoleService(resources, MembershipTable(db, table_name))
        return cls(TenantTable(db, table_name), resources, roles, RoleJobs(db, table_name), clock)

    def start(self, tenant_id: str, start_worker: WorkerStarter | None = None) -> RoleJob:
        return start_job(self._jobs, tenant_id, self._clock(), self._new_id(), start_worker)

    def status(self, tenant_id: str) -> RoleJob | None:
        return self._jobs.get(tenant_id)

    def run(self, tenant_id: str, job_id: str, keep_going: Callable[[int], bool]) -> RoleJob | None:
        job = self._jobs.get(tenant_id)
        batches = 0
        while job is not None and job.job_id == job_id and job.status == "running" and keep_going(batches):
            tenant = self._tenants.get_tenant(tenant_id)
            if tenant is None:
                return job
            start = None
            if job.cursor:
                start = {"PK": {"S": resources_pk(tenant_id, Kind.USER)}, "SK": {"S": job.cursor}}
            page = self._resources.page(tenant_id, Kind.USER, limit=self._batch_size, start_key=start)
            actor = Actor(request_id=f"roles:{job_id}", token_id="", at=self._clock())  # nosec B106
            ids = [u.id for u in page.items]
            if uses_roles(tenant.profile):
                changed = self._roles.recompute(tenant_id, tenant.profile, ids, actor)
            else:  # every mapping and the default role removed: the roles they gave go too
                changed = self._roles.clear(tenant_id, ids, actor)
            cursor = page.items[-1].id if page.last_key and page.items else None
            advanced = self._jobs.advance(
                tenant_id, job_id, cursor, checked=len(page.items), changed=len(changed), at=self._clock()
            )
            if not advanced:
                return self._jobs.get(tenant_id)  # replaced by a newer job
            batches += 1
            job = self._jobs.get(tenant_id)
        return job
