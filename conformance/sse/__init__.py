"""Server-sent events: framer (bytes to frames), grammar (events to violations), rebuild, reading."""
