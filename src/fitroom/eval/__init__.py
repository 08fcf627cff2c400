"""Offline evaluation: run engines over folders of photos, write contact sheets and metrics."""
