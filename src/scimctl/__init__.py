"""Admin CLI and local gateway. Never packaged into a Lambda function."""
