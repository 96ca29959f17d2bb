"""Torch internals of E2B: balancing layer, base-weight network, random response functions, loop.

Each piece is small and separate; :class:`dowhy_e2b.E2BWeights` is the public façade.
"""
