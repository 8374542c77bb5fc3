"""`make bench`: the speed, memory and quality targets of newswatch, measured on this machine.

Run as `python -m bench` (see `bench/__main__.py`); it needs the shared corpora in `../shared`.
"""
