"""scimctl.local_store in process: what a restart reads back is what was there (issue 13, part 2).

The restart tests (tests/integration/test_local_restart.py) do the same with a real process and
signals; these check each kind of data and each refusal, and count what a start reads.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from scimctl.local_aws import local_aws
from scimctl.local_store import STORE_FILE, LocalStore, StoreError
from tests.conftest import TEMPLATE


def item(n: int, name: str | None = None) -> dict[str, Any]:
    return {
        "PK": {"S": "T#a#USER"},
        "SK": {"S": f"id{n:04d}"},
        "GSI1PK": {"S": "T#a#USER"},
        "GSI1SK": {"S": name or f"user{n}@example.com"},
        "b": {"B": b"\x00\x01"},
        "n": {"N": "3"},
    }


def key(n: int) -> dict[str, Any]:
    return {"PK": {"S": "T#a#USER"}, "SK": {"S": f"id{n:04d}"}}


def lookup(db: Any, table: str, name: str) -> list[str]:
    found = db.query(
        TableName=table,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p AND GSI1SK = :n",
        ExpressionAttributeValues={":p": {"S": "T#a#USER"}, ":n": {"S": name}},
    )
    return [i["SK"]["S"] for i in found["Items"]]


def test_items_secrets_and_api_keys_come_back_as_they_were(tmp_path: Path) -> None:
    with local_aws(TEMPLATE, state_file=None) as aws:
        store = LocalStore(tmp_path, flush_seconds=3600)  # only close() writes: no timing in the test
        assert store.load(aws).empty
        store.start()
        db = aws.client("dynamodb")
        for n in range(5):
            db.put_item(TableName=aws.table_name, Item=item(n))
        db.update_item(
            TableName=aws.table_name,
            Key=key(1),
            UpdateExpression="SET GSI1SK = :n",
            ExpressionAttributeValues={":n": {"S": "renamed@example.com"}},
        )
        db.delete_item(TableName=aws.table_name, Key=key(2))
        with pytest.raises(ClientError):  # rolled back: neither write may come back
            db.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": aws.table_name, "Item": item(9)}},
                    {
                        "Put": {
                            "TableName": aws.table_name,
                            "Item": item(0),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                ]
            )
        aws.client("secretsmanager").create_secret(Name="scim/local/t1", SecretString='{"h": "x"}')
        api = aws.client("apigateway")
        created = api.create_api_key(name="scim-local-t1", value="k" * 40, enabled=True)
        api.create_usage_plan_key(usagePlanId=aws.usage_plan_id, keyId=created["id"], keyType="API_KEY")
        store.close()

    with local_aws(TEMPLATE, state_file=None) as aws:
        store = LocalStore(tmp_path)
        loaded = store.load(aws)
        try:
            db = aws.client("dynamodb")
            assert loaded.items == 4
            assert db.get_item(TableName=aws.table_name, Key=key(0))["Item"] == item(0)
            assert "Item" not in db.get_item(TableName=aws.table_name, Key=key(2))
            assert "Item" not in db.get_item(TableName=aws.table_name, Key=key(9))
            assert lookup(db, aws.table_name, "renamed@example.com") == ["id0001"]
            assert lookup(db, aws.table_name, "user1@example.com") == []
            secret = aws.client("secretsmanager").get_secret_value(SecretId="scim/local/t1")
            assert secret["SecretString"] == '{"h": "x"}'
            keys = aws.client("apigateway").get_usage_plan_keys(usagePlanId=aws.usage_plan_id)["items"]
            assert [k["value"] for k in keys] == ["k" * 40]  # in the new usage plan, same value
        finally:
            store.close()


def test_a_store_of_another_format_is_refused_with_its_name(tmp_path: Path) -> None:
    LocalStore(tmp_path).close()
    with sqlite3.connect(tmp_path / STORE_FILE) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'format'")
    with pytest.raises(StoreError, match=f"{tmp_path / STORE_FILE} is a store of format 0"):
        LocalStore(tmp_path)


def test_a_file_that_is_not_a_store_is_refused_and_reset_replaces_it(tmp_path: Path) -> None:
    (tmp_path / STORE_FILE).write_bytes(b"not sqlite" * 100)
    with pytest.raises(StoreError, match="is not a readable scimctl store"):
        LocalStore(tmp_path)
    LocalStore(tmp_path, reset=True).close()  # --reset: a new, empty store
