"""Training data: corpora (music21's bundled corpus, user folders), cleaning, labels, splits."""
