"""ALE bench."""
