"""Agent harness: the tool loop, context management, token-exact trajectories, model proxy and gym env."""
from ale.agent.environment import SandboxEnvironment
from ale.agent.gym import SandboxGymEnv
from ale.agent.loop import END_REASONS, Agent, AgentConfig
from ale.agent.models import load_model
from ale.agent.protocols import CommandResult, Environment, Model, ModelReply, ToolCall
from ale.agent.proxy import ModelProxy, PolicyRequest, QueuePolicy
from ale.agent.trajectory import Trajectory, build_sequences, training_data

__all__ = ["Agent", "AgentConfig", "END_REASONS", "SandboxEnvironment", "SandboxGymEnv", "load_model",
           "CommandResult", "Environment", "Model", "ModelReply", "ModelProxy", "PolicyRequest", "QueuePolicy",
           "ToolCall", "Trajectory", "build_sequences", "training_data"]
