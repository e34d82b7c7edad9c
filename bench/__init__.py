"""Benchmarks: deterministic counts (DynamoDB calls, items read) per SCIM operation, on moto."""
