"""ALE data."""
