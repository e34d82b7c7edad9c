"""Lambda entry points: parse the API Gateway event, call `core`, return a response."""
