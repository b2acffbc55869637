"""Playbook bodies for save tests and the bench."""

from __future__ import annotations

from typing import Any


def make_playbook(
    modules: int = 3, tasks: int = 2, steps: int = 2, title: str = "Client onboarding"
) -> dict[str, Any]:
    """A canvas-shaped playbook (``PlaybookSpec``) of the given size."""
    return {
        "title": title,
        "description": "Kick-off, documents and a 30-day review.",
        "modules": [
            {
                "title": f"Module {m + 1}",
                "description": f"What module {m + 1} covers",
                "status": "built",
                "tasks": [
                    {
                        "title": f"Task {m + 1}.{t + 1}",
                        "description": "Do the thing well",
                        "steps": [
                            {"title": f"Step {m + 1}.{t + 1}.{s + 1}", "description": "Details"}
                            for s in range(steps)
                        ],
                    }
                    for t in range(tasks)
                ],
            }
            for m in range(modules)
        ],
    }
