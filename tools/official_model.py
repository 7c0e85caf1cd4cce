"""Shared helpers for the Python reference scripts: the official Swin SMT model of the bundled
example checkpoint, importable without editing the fetched sources.

Needs Debian's python3 (torch 1.13) with
PYTHONPATH=/path/to/ref:/path/to/ref/einops_src:/path/to/ref/swinsmt_src/src/models
(MONAI 1.3.2, einops 0.8 and the official swin_smt.py).
"""
import torch

from swin_smt import SwinSMT

# The configuration of weights/swinsmt_f12_random.pth (see weights/README.md).
EXAMPLE_CONFIG = dict(
    img_size=(128, 128, 128),
    in_channels=1,
    out_channels=118,
    feature_size=12,
    use_v2=True,
    use_moe=True,
    num_experts=4,
    num_layers_with_moe=3,
)


class _HiddenStates(list):
    """The swinViT output list, given the `.shape` that the official forward's stray
    `print(hidden_states_out.shape)` asks for (a plain list has none and the call crashes)."""

    @property
    def shape(self):
        return [tuple(t.shape) for t in self]


class QuietSwinSMT(SwinSMT):
    """The official model, unchanged; only its swinViT output is wrapped so the stray debug print
    in the official forward works (and prints nothing of ours)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.swinViT.register_forward_hook(lambda module, inputs, output: _HiddenStates(output))

    def forward(self, x_in):
        import builtins

        real_print = builtins.print
        builtins.print = lambda *args, **kwargs: None  # silence the official debug print
        try:
            return super().forward(x_in)
        finally:
            builtins.print = real_print


def example_model():
    return QuietSwinSMT(**EXAMPLE_CONFIG)


def load_example_model(path):
    """The official model with the bundled checkpoint's weights (float16 on disk) in float32, eval."""
    model = example_model()
    ckpt = torch.load(path, map_location="cpu")
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in ckpt["model"].items()}
    model.load_state_dict(state, strict=True)
    return model.eval()
