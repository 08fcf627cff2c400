"""Blob storage (inputs and results) and signed, expiring URLs to read results."""
