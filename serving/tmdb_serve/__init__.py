"""The prediction service: FastAPI app serving the registry's champion model."""
