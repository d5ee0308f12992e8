"""Agent harness: the tool loop, context management and token-exact trajectories."""
from ale.agent.environment import SandboxEnvironment
from ale.agent.loop import END_REASONS, Agent, AgentConfig
from ale.agent.models import load_model
from ale.agent.protocols import CommandResult, Environment, Model, ModelReply, ToolCall
from ale.agent.trajectory import Trajectory, build_sequences, training_data

__all__ = ["Agent", "AgentConfig", "END_REASONS", "SandboxEnvironment", "load_model", "CommandResult",
           "Environment", "Model", "ModelReply", "ToolCall", "Trajectory", "build_sequences", "training_data"]
