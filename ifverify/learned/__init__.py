"""The learned verifier for soft constraints: the classifier, its training and metrics, and judge scorers.

Nothing here imports torch or transformers at import time; they load when a model is first used.
"""
