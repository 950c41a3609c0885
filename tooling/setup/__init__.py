"""Installing what the targets need: Debian packages, crates, foreign Python roots."""
