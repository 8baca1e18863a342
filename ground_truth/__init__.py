"""Versioned ground-truth circuits: JSON files per task and version, plus their loader."""
from ground_truth.loader import GroundTruth, available_versions, default_version, ground_truth_model, load, load_file, stamp

__all__ = ["GroundTruth", "available_versions", "default_version", "ground_truth_model", "load", "load_file", "stamp"]
