"""What both Go versions' runtimes share: version-free modules and base classes."""
