"""ALE safety."""
