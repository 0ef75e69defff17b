"""The initialisation recipe of a fresh GOT (preset ``init``), applied after transformers' own init.

What makes a small random-init GOT look at its image:
linear and embedding weights ~ N(0, init_range), biases 0; conv weights ~ N(0, 1/fan_in) (LeCun
normal: variance 1/fan_in, so a conv keeps its input's scale); the ViTDet absolute position embedding
set to a scaled 2-D sin/cos table rather than SAM's zeros (with zeros, blank patches are identical zero
vectors and LayerNorm blows up their gradients). Relative position tables stay zero, norms stay 1/0.
The sin/cos table follows MAE's ``get_2d_sincos_pos_embed`` (half the channels for rows, half for
columns).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .presets import InitRecipe


def sincos_2d(grid: int, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """A (grid, grid, dim) table: sin/cos of the row index in the first half, of the column in the second."""
    if dim % 4:
        raise ValueError(f"2-D sin/cos position embedding needs a width divisible by 4, found {dim}")
    quarter = dim // 4
    omega = 1.0 / temperature ** (torch.arange(quarter, dtype=torch.float64) / quarter)  # (dim/4,)
    pos = torch.arange(grid, dtype=torch.float64)
    angles = pos[:, None] * omega[None, :]  # (grid, dim/4)
    table_1d = torch.cat([angles.sin(), angles.cos()], dim=1)  # (grid, dim/2)
    rows = table_1d[:, None, :].expand(grid, grid, dim // 2)  # row index varies along axis 0
    cols = table_1d[None, :, :].expand(grid, grid, dim // 2)  # column index varies along axis 1
    return torch.cat([rows, cols], dim=-1).float()  # (grid, grid, dim)


@torch.no_grad()
def apply_init(model: nn.Module, recipe: InitRecipe) -> None:
    """Re-initialise ``model`` in place (a GotOcr2ForConditionalGeneration or a stage-1 composite)."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            module.weight.normal_(0.0, recipe.init_range)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.normal_(0.0, recipe.init_range)
            if module.padding_idx is not None:
                module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.Conv2d) and recipe.conv_init == "fan_in":
            fan_in = module.in_channels // module.groups * math.prod(module.kernel_size)
            module.weight.normal_(0.0, 1.0 / math.sqrt(fan_in))
            if module.bias is not None:
                module.bias.zero_()
    for name, param in model.named_parameters():
        if name.endswith("vision_tower.pos_embed"):
            _, grid_h, grid_w, dim = param.shape  # (1, grid, grid, hidden)
            if recipe.pos_embed == "sincos":
                param.copy_(recipe.pos_embed_scale * sincos_2d(grid_h, dim)[None, :grid_h, :grid_w])
            else:
                param.zero_()
