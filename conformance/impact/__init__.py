"""Client impact: what each official client makes of every recorded exchange, replayed offline."""
