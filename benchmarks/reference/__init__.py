"""A Mesa-idiomatic implementation of marketsim's weekly rules (speed baseline and cross-check)."""

from .model import ReferenceMarket

__all__ = ["ReferenceMarket"]
