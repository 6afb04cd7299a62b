"""Names and layouts shared by the Lambda functions, the stacks and the local runtime.

This package is bundled into every function asset by ``invoke build``; it holds
no AWS client code, only the facts several places must agree on.
"""
