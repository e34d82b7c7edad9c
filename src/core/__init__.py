"""SCIM domain logic: no HTTP, no environment variables, no boto3 client construction."""
