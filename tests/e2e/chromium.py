"""How every browser check here starts Debian's Chromium (tests and CI's newcomer check): the
background-networking flags keep it from calling hosts this closed network refuses."""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
