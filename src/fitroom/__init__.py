"""Fitroom: a self-hosted virtual try-on server.

Five hosted try-on APIs (r-vton, glasses, FASHN through the gateway, Pixelcut, FASHN's
own) served wire-compatibly from one process, on engines that run on a plain CPU.
"""

__version__ = "0.1.0"
