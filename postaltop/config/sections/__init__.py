"""Configuration sections of later features, each a pydantic model in its own module."""
