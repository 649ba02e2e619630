"""The board directory as untrusted files: the guarded reader, score and probability parts,
confined writes and the submission record. Imports nothing else of ``report``."""
