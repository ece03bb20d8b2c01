"""Data-subject rights beyond erasure: access export, objection to marketing, retention rules."""
