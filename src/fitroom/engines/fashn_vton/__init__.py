"""FASHN VTON v1.5: the try-on transformer (``model``) and its rectified-flow sampler (``sampling``).

A reimplementation in plain torch of the Apache-2.0 model published by FASHN AI, state-dict
compatible with its ``model.safetensors`` and checked numerically against the published code
(see ``scripts/make_vton_reference.py`` and ``tests/engines/fashn_vton``).
"""
