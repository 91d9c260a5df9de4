"""Go 1.8's runtime: one module per Go source file it models (mbitmap.go -> mbitmap.py)."""
