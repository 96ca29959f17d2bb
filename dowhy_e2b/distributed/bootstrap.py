"""Bootstrap replicates of the chunked pipeline (placeholder)."""
