"""The modelled Go runtime: one module per Go source file it models."""
