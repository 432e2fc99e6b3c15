"""Event entry points: thin handlers that call the nailfolio library."""
