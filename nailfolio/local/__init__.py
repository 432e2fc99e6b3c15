"""The local backend's adapters: SQLite stores, the NSFW model, VADER, the outbox."""
