"""The HTTP layer: the FastAPI app and one module per vendor dialect.

A dialect only translates: its request model into a canonical ``JobSpec``, the canonical
``JobView`` into its response shape, and ``fitroom.errors`` into its error bodies. No
image work and no SQL happen here.
"""
