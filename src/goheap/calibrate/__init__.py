"""``goheap calibrate``: the virtual clock's costs measured on the user's own machine.

``probes`` builds and runs the Go probes of ``tests/oracle/calibrate``;
``derive`` turns what they print into ``CostModel`` fields (its ``RULES``
table is the one mapping from a measured figure to a field); ``calibration``
puts a run together and makes the ``goheap/1`` document of kind
``calibration`` that ``goheap.costs`` reads back; ``command`` is the click
command. Runs use a calibration only when asked (``--costs``).
"""
