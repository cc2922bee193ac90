"""perfscan: scanned budget-performance self-evaluation forms to clean, checked data."""

__version__ = "0.1.0"
