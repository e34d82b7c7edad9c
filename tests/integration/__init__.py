"""Real HTTP against the local gateway (moto in process)."""
