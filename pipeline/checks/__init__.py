"""Records → findings and a verdict: reading checks (`verify`), the rule registry and its rules by
family, arithmetic repair (`repair`), and the status of a document (`assess`)."""
