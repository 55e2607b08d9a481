"""shouhou (售后): an after-sales engine for marketplaces and live-commerce platforms."""

__version__ = "0.1.0"
