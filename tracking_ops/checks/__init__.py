"""Checks of the project against outside rules: AWS API shapes, the dependency lock."""
