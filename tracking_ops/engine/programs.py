"""A layer's program as an Automation API inline program: ``stacks/<layer>/__main__.py``
with its ``components`` module, run by Pulumi's own language server in this process
(the sandbox has no Python language host; see docs/engine.md). The files run are the
same as under ``pulumi up``; one program at a time, as each swaps ``components``."""

from __future__ import annotations

import runpy
import sys
import threading
from collections.abc import Callable

from tracking_ops.deploy.synth import COMPONENTS, components_module_name, load_components
from tracking_stacks.definitions import STACKS_DIR
from tracking_stacks.registry import Layer

ONE_PROGRAM_AT_A_TIME = threading.Lock()


def layer_program(layer: Layer) -> Callable[[], None]:
    program_dir = STACKS_DIR / layer.value

    def program() -> None:
        sys.path.insert(0, str(program_dir))
        try:
            load_components(layer)  # what the program's `from components import ...` gets
            runpy.run_path(str(program_dir / "__main__.py"), run_name="__main__")
        finally:
            sys.path.remove(str(program_dir))
            sys.modules.pop(COMPONENTS, None)
            sys.modules.pop(components_module_name(layer), None)

    return program
