"""Token hashes in Secrets Manager: one secret per tenant, ``<prefix>tenants/<tenant>``.

Secret value: ``{"version": 1, "hashes": {"<token_id>": "sha256:<hex>"}}``. Several hashes may be
active at once, so rotation needs no downtime. Only the admin CLI writes; the authorizer reads.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from core.store.aws_errors import error_code, unavailable_on_outage

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

SECRET_FORMAT_VERSION = 1


def secret_name(prefix: str, tenant_id: str) -> str:
    return f"{prefix}tenants/{tenant_id}"


class TokenHashStore:
    def __init__(self, client: SecretsManagerClient, prefix: str) -> None:
        self._sm = client
        self._prefix = prefix

    def get_hashes(self, tenant_id: str) -> dict[str, str]:
        """The tenant's token hashes; an absent secret means the tenant has no tokens."""
        try:
            with unavailable_on_outage("Secrets Manager"):
                out = self._sm.get_secret_value(SecretId=secret_name(self._prefix, tenant_id))
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return {}
            raise
        doc = json.loads(out.get("SecretString") or "{}")
        hashes = doc.get("hashes", {})
        return {str(k): str(v) for k, v in hashes.items()}

    def create_secret(self, tenant_id: str, tags: dict[str, str] | None = None) -> None:
        try:
            with unavailable_on_outage("Secrets Manager"):
                self._sm.create_secret(
                    Name=secret_name(self._prefix, tenant_id),
                    Description=f"SCIM token hashes of tenant {tenant_id}",
                    SecretString=json.dumps({"version": SECRET_FORMAT_VERSION, "hashes": {}}),
                    Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
                )
        except ClientError as exc:
            if error_code(exc) != "ResourceExistsException":
                raise

    def put_hash(self, tenant_id: str, token_id: str, token_hash: str) -> None:
        hashes = self.get_hashes(tenant_id)
        hashes[token_id] = token_hash
        self._write(tenant_id, hashes)

    def remove_hash(self, tenant_id: str, token_id: str) -> None:
        hashes = self.get_hashes(tenant_id)
        if hashes.pop(token_id, None) is not None:
            self._write(tenant_id, hashes)

    def remove_all(self, tenant_id: str) -> None:
        """Drop every hash of the tenant (revoke-all, tenant deletion): one read, one write."""
        if self.get_hashes(tenant_id):
            self._write(tenant_id, {})

    def _write(self, tenant_id: str, hashes: dict[str, str]) -> None:
        body = json.dumps({"version": SECRET_FORMAT_VERSION, "hashes": hashes}, sort_keys=True)
        name = secret_name(self._prefix, tenant_id)
        try:
            with unavailable_on_outage("Secrets Manager"):
                self._sm.put_secret_value(SecretId=name, SecretString=body)
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            self.create_secret(tenant_id)
            with unavailable_on_outage("Secrets Manager"):
                self._sm.put_secret_value(SecretId=name, SecretString=body)
