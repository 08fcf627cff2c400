"""Engines for tests, registered only when ``FITROOM_ENGINE_MODULES`` names
``fitroom.engines.testing.engine``: like procrastinate's in-memory connector, they let a
test drive real workers, lanes and the store without loading a model."""
