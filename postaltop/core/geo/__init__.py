"""Where recipients are: the country or region of a recipient domain (pure, offline)."""
