"""Erasure: requests, the planner, the leased worker, verification, forgetting, resurrection."""
