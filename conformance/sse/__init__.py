"""Server-sent events: framer (bytes to frames), frames (the frame values), grammar (events to violations), rebuild, reading."""
