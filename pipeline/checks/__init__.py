"""Records → findings and a verdict: reading checks (`verify`), the rule registry and its rules by
family, arithmetic repair (`repair`), and the status of a document (`assess`).

Importing the package registers every rule, in the order findings are listed: header (H), money
block (F, P), indicator table (I, G), structure (S), report figures (X6–X9), cross-document (X0–X5).
"""

# Not sorted: the import order is the registry's, which is the order findings are listed in.
from . import header, funding, indicators, structure, report, cross  # noqa: F401, I001
