"""Versioned ground-truth circuits: JSON files per task and version, plus their loader."""
from ground_truth.loader import GroundTruth, available_versions, header, load, load_file, stamp

__all__ = ["GroundTruth", "available_versions", "header", "load", "load_file", "stamp"]
