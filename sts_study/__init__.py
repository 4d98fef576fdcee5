"""A reproducible study of fine-tuning sentence-transformers for Korean and Hebrew STS, and its package"""

__version__ = "0.1.0"
