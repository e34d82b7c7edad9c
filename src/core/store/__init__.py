"""Storage: key design, the DynamoDB and Secrets Manager implementations, and AWS error mapping."""
