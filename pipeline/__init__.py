"""baocao: consolidates the periodic reports of a provincial plan for prostitution prevention."""

__version__ = "0.1.0"
