"""Attribution family: zennit LRP/DTD, captum gradient and perturbation baselines, controls."""
