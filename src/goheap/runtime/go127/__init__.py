"""The go1.27 profile: modules modelling the runtime of Go 1.27 (one module per Go file)."""
