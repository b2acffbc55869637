"""Models: the role → model factory, the offline planner's Strands adapter, a scripted test model.

Import the submodules directly (``agent_runtime.models.factory``,
``agent_runtime.models.offline_model``, ``agent_runtime.models.scripted``); this package module
stays empty so importing the offline planner (``agent_runtime.models.offline``) pulls in nothing
else.
"""
