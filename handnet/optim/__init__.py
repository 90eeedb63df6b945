"""Optimizers (update Parameters from their .grad) and minimisers of objectives."""

__all__: list[str] = []
