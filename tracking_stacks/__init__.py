"""What the five tracking stacks share: the layer registry, naming, tags,
stack references, IAM documents and the resource definitions that the local
runtime also uses."""
