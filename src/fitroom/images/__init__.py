"""Image input and output: turning a client's URL, base64 or upload into checked pixels
(``loader``), guarding URL fetches against SSRF (``ssrf``, ``fetch``), and encoding
results (``encode``).

Nothing is re-exported here so that importing one small module (``limits``, say) does
not pull in Pillow, numpy and httpx.
"""
