"""The project's stand-in for the ``aws`` resource plugin (pulumi-aws's provider
cannot be built here). It speaks the engine's provider protocol for exactly the types
the five stacks declare; it is never presented as AWS."""
