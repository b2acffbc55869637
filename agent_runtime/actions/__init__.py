"""What each invocation action does once the dispatcher has authenticated it."""
