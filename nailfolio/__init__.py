"""Nailfolio: a moderated static gallery of nail-art designs with serverless comments."""

__version__ = "0.1.0"
