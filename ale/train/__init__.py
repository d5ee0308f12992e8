"""ALE train."""
