"""The image pipeline anomalib's WinClip uses: PIL convert("RGB") -> float [0,1] ->
torchvision v2 Resize((S,S), BICUBIC, antialias=True) -> Normalize(CLIP mean, std)."""
import torch
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def read_image(path):
    """anomalib.data.utils.read_image(path, as_tensor=True)."""
    image = Image.open(path).convert("RGB")
    return F.to_dtype(F.to_image(image), torch.float32, scale=True)


def load_and_preprocess(path, size):
    transform = v2.Compose([
        v2.Resize((size, size), antialias=True, interpolation=v2.InterpolationMode.BICUBIC),
        v2.Normalize(mean=MEAN, std=STD),
    ])
    return transform(read_image(path))
