"""Per-layer deploy rights, generated from the layer registry and data (no Pulumi here).

rights.py: what each resource type needs to be created, changed and deleted (a table
of IAM actions) and which types each layer declares; scopes.py: the ARNs (and
conditions) each layer's resources have in an env; documents.py: the deploy role
policies, the permissions boundary and the trust policies built from both;
matcher.py: a small evaluator of those documents, for the proofs.
"""
