"""Before a destroy: every layer's protected resources, checked before any layer goes.

`pulumi destroy` stops at the first protected resource, but only in the stack that
holds it: destroying an environment in reverse order would remove monitoring, api,
compute and config (the SecureString's key included) before it stopped at data's
protected table. This looks at every layer's state first and destroys nothing while
any of them still protects something.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tracking_ops.deploy.fingerprints import LayerState
from tracking_ops.deploy.review import ReviewRefused
from tracking_stacks.registry import REGISTRY, Layer


class DestroyRefused(ReviewRefused):
    """A destroy that would stop half-way at a protected resource (one line)."""


def protected_resources(
    layers: Iterable[Layer], state_of: Callable[[Layer], LayerState | None]
) -> dict[Layer, list[str]]:
    """The URNs each layer's state protects (layers protecting nothing left out)."""
    found: dict[Layer, list[str]] = {}
    for layer in layers:
        state = state_of(layer)
        if state and state.protected:
            found[layer] = sorted(state.protected)
    return found


def refuse_if_protected(
    env: str, layers: Iterable[Layer], state_of: Callable[[Layer], LayerState | None]
) -> None:
    """Raise DestroyRefused naming every protected resource of every layer, if any."""
    protected = protected_resources(list(layers), state_of)
    if not protected:
        return
    named = "; ".join(
        f"{layer.value}: {', '.join(urn.rsplit('::', 1)[-1] for urn in urns)}"
        for layer, urns in protected.items()
    )
    first = next(iter(protected))
    raise DestroyRefused(
        f"refusing to destroy {env}: nothing was destroyed, because these resources are "
        f"protected ({named}); unprotect them on purpose first (e.g. `pulumi state "
        f"unprotect --all --stack {env}` in stacks/{first.value} for "
        f"{REGISTRY[first].project}), then destroy again"
    )
