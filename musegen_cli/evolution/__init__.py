"""Evolution: searching a generator's controls for music a listener likes (EvoMusic)."""
