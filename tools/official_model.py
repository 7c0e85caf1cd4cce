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


class QuietSwinSMT(SwinSMT):
    """The official model with its forward copied minus the stray debug print, which crashes
    because hidden_states_out is a list."""

    def forward(self, x_in):
        hidden_states_out = self.swinViT(x_in, self.normalize)
        enc0 = self.encoder1(x_in)
        enc1 = self.encoder2(hidden_states_out[0])
        enc2 = self.encoder3(hidden_states_out[1])
        enc3 = self.encoder4(hidden_states_out[2])
        dec4 = self.encoder10(hidden_states_out[4])
        dec3 = self.decoder5(dec4, hidden_states_out[3])
        dec2 = self.decoder4(dec3, enc3)
        dec1 = self.decoder3(dec2, enc2)
        dec0 = self.decoder2(dec1, enc1)
        out = self.decoder1(dec0, enc0)
        return self.out(out)


def example_model():
    return QuietSwinSMT(**EXAMPLE_CONFIG)


def load_example_model(path):
    """The official model with the bundled checkpoint's weights (float16 on disk) in float32, eval."""
    model = example_model()
    ckpt = torch.load(path, map_location="cpu")
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in ckpt["model"].items()}
    model.load_state_dict(state, strict=True)
    return model.eval()
