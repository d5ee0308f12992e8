"""ALE: an Agentic Learning Ecosystem (sandbox, agent, train, data, safety, bench)."""

__version__ = "0.1.0"
