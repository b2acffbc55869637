"""Saved playbooks: the save endpoint, the list and edit pages, and their JSON API."""
