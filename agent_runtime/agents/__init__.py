"""The agents: router, playbook orchestrator and module builders, described by ``agents.yaml``."""
