"""Shared package of the TMDB rating platform.

Everything more than one deployable part needs lives here and nowhere else:
configuration, object storage, the storage layout, the processed-data schema,
the feature pipeline, the model-bundle contract and the model registry.
"""

__version__ = "0.1.0"
