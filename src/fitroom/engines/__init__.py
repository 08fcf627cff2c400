"""Try-on engines behind one interface (``base.Engine``), looked up by name (``registry``).

Each engine family is a subpackage: ``cpu`` (the CPU engines and their shared person,
face and garment analysis), ``fashn_vton`` (the generative model), ``testing`` (engines
that only count their calls, for tests).
"""
