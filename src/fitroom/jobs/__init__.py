"""Canonical jobs: the model every dialect translates to, the store, leasing and retries."""
