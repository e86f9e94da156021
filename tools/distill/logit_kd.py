"""Optional logit distillation (Hinton et al. 2015) for one-channel sigmoid outputs:
temperature-scaled Bernoulli KL(teacher || student) per pixel, times T^2."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def bernoulli_kl(s_logits: torch.Tensor, t_logits: torch.Tensor, temperature: float = 2.0,
                 valid: torch.Tensor | None = None) -> torch.Tensor:
    """Zero iff the tempered teacher and student probabilities agree."""
    T = temperature
    s, t = s_logits.float() / T, t_logits.detach().float() / T
    pt = torch.sigmoid(t)
    # KL(p_t || p_s) = p_t (log p_t - log p_s) + (1-p_t)(log(1-p_t) - log(1-p_s))
    kl = (pt * (F.logsigmoid(t) - F.logsigmoid(s))
          + (1 - pt) * (F.logsigmoid(-t) - F.logsigmoid(-s)))
    if valid is not None:
        return (kl * valid).sum() / valid.sum().clamp_min(1.0) * T * T
    return kl.mean() * T * T
