"""Metrics of the paper (section 5) and beyond: multi-scale SWD, MS-SSIM, FID, Inception Score, mode
coverage of the synthetic set, and the registry that computes them by name."""
