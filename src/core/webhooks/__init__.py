"""Signed webhooks (docs/webhooks.md): the one implementation behind the delivery function, the
management API's webhook routes and `scimctl serve --webhook-url`.

- `urls`: which target URLs are allowed (https, no private, link-local or metadata address).
- `signature`: Standard Webhooks secrets and signatures, through the `standardwebhooks` library.
- `targets`: per-tenant and stack-wide targets, kept in Secrets Manager (never in DynamoDB).
- `delivery`: the body, the headers and one attempt; the retry schedule.

No HTTP here: the sender is passed in (`handlers.webhook_http` in Lambda and locally).
"""
