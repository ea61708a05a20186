"""classification_augment_ops through OpenCV, image by image in float32 (HWC).

cv2.flip for the flip; addWeighted for the blends (brightness with weight 0 on the second
image, contrast with the grayscale mean as the offset, saturation with the grayscale image);
cvtColor RGB2GRAY (ITU-R 601 weights: gray_weights='rec601' only) and RGB2HSV / HSV2RGB
(float32: H in degrees, so the hue factor becomes 360·f) for the rest; the [0, 1] clamps
and Normalize are NumPy. CenterCrop only: OpenCV has no antialiased bilinear resize for
RandomResizedCrop (INTER_AREA is another filter). OpenCV's colour conversions take no
float64: float64 cases run in float32 and are its documented failures.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.classification_augment_ops import (
    AugmentOptions,
    check_augment,
    crop_origin,
    random_crop_origin,
)

_F32 = "OpenCV's colour conversions are float32 only (float64 inputs run in float32)"


def _step(img: Any, op: int, f: float) -> Any:
    rgb = img.ndim == 3
    if op == 0:
        return np.clip(cv2.addWeighted(img, f, img, 0.0, 0.0), 0.0, 1.0)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if rgb else img
    if op == 1:
        offset = (1.0 - f) * cv2.mean(gray)[0]
        return np.clip(cv2.addWeighted(img, f, img, 0.0, offset), 0.0, 1.0)
    if not rgb:  # saturation and hue leave a grayscale image as it is
        return img
    if op == 2:
        gray3 = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
        return np.clip(cv2.addWeighted(img, f, gray3, 1.0 - f, 0.0), 0.0, 1.0)
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = np.mod(hsv[..., 0] + np.float32(360.0 * f), np.float32(360.0))
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


@implementation(
    "classification_augment_ops",
    "library",
    "cv2",
    arrays="numpy",
    requires=("cv2",),
    supports={"gray_weights": ("rec601",), "crop": ("centre", "random")},
    expected_failures={
        "pipeline_f64": _F32,
        "identity_factors": _F32,
        "zero_factors": _F32,
        "bright_clamps": _F32,
        "hue_plus_half": _F32,
        "hue_minus_half": _F32,
        "grayscale_input": _F32,
    },
)
def augment(
    image: Any,
    flip: Any,
    factors: Any,
    order: Any,
    draws: Any,
    mean: Any,
    std: Any,
    out_h: int,
    out_w: int,
    opts: AugmentOptions,
) -> Any:
    """Per image: crop, float32 / 255, cv2.flip, the jitter steps in order, normalise."""
    dtype = check_augment(image, flip, factors, order, draws, mean, std, out_h, out_w, opts)
    n, h, w, c = image.shape
    top, left = crop_origin(h, w, out_h, out_w)
    out = np.empty((n, c, out_h, out_w), dtype=dtype)
    m, s = mean.astype(np.float32), std.astype(np.float32)
    for k in range(n):
        if opts.crop == "random":  # RandomCrop: the drawn origin of this image
            top, left = random_crop_origin(h, w, out_h, out_w, draws[k])
        img = image[k, top : top + out_h, left : left + out_w].astype(np.float32) / 255.0
        img = img if c == 3 else np.ascontiguousarray(img[..., 0])
        if flip[k]:
            img = cv2.flip(img, 1)
        for op in order[k]:
            img = _step(img, int(op), float(factors[k, op]))
        img = img.reshape(out_h, out_w, c)
        out[k] = ((img - m) / s).transpose(2, 0, 1)
    return out
