"""Attachments (issue 12): upload, list and fetch files; resolve a chat turn's files for the runtime."""
