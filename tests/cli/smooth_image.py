"""A synthetic RGB test image for the format tests (webp_like_pil.py,
tiff_like_pil.py): gradients, an edge and some noise, so that lossy codecs
(WebP, JPEG), their chroma subsampling and filters have work to do."""
import numpy as np


def smooth_image(size, seed):
    """uint8 [size, size, 3], the same for the same seed."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.stack([x * 200 + 20, y * 180 + 40, (x * y) * 255], axis=-1)
    img[size // 3:size // 2, :, 0] = 250
    img += rng.uniform(-20, 20, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)
