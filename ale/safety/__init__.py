"""Safety layer: a taxonomy of forbidden behaviours, detectors over trajectories and guard events,
a runtime guard that stops an episode, audits, red-team injection (docs/safety.md)."""
from ale.safety.detectors import Action, Detection, Scope, detect, detect_action, detect_event
from ale.safety.taxonomy import BEHAVIOURS, CATEGORIES, Behaviour

__all__ = ["Action", "BEHAVIOURS", "Behaviour", "CATEGORIES", "Detection", "Scope", "detect", "detect_action",
           "detect_event"]
