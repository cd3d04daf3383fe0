"""supportcue: reply suggestions for human support agents, and the monitoring that shows their use."""

from supportcue.errors import SupportcueError

__version__ = "0.1.0"

__all__ = ["SupportcueError", "__version__"]
