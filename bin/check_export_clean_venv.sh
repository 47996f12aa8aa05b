#!/usr/bin/env bash
# Checks that an exported kgan model serves with TensorFlow alone.
#
# Usage: bin/check_export_clean_venv.sh RUN_DIR|SAVED_MODEL_DIR [OUT_PNG]
#
# Exports RUN_DIR with `kgan export` (skipped when given a SavedModel), makes a
# fresh virtual environment with only tensorflow-cpu and pillow (no kgan, no
# repository on the path; about 250 MB to download), loads the SavedModel there,
# calls serving_default for 16 images and writes them as a PNG grid (default
# export_check.png). Set KGAN_CHECK_VENV=DIR to keep and reuse the environment.
set -euo pipefail

if [ $# -lt 1 ]; then
  sed -n '4,10p' "$0"; exit 2
fi
source_dir=$1
png=$(realpath -m "${2:-export_check.png}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -f "$source_dir/saved_model.pb" ]; then
  model=$(realpath "$source_dir")
else
  model=$work/model
  kgan export "$source_dir" "$model"
fi

venv=${KGAN_CHECK_VENV:-$work/venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q tensorflow-cpu pillow
fi

# -I: no PYTHONPATH, no user site packages, no current directory on sys.path.
cd "$work"
TF_CPP_MIN_LOG_LEVEL=2 "$venv/bin/python" -I - "$model" "$png" <<'PY'
import math
import sys

import numpy as np
import tensorflow as tf
from PIL import Image

model_dir, png = sys.argv[1:3]
try:
    import kgan  # noqa: F401
    sys.exit("kgan is importable in the clean environment; the check proves nothing.")
except ImportError:
    print("kgan is not importable here (as intended).")

model = tf.saved_model.load(model_dir)
print("signatures:", sorted(model.signatures))
metadata = model.signatures["metadata"]()
print("kgan version:", metadata["kgan_version"].numpy().decode(),
      "| latent_dim:", int(metadata["latent_dim"]),
      "| image_shape:", metadata["image_shape"].numpy().tolist())
serve = model.signatures["serving_default"]
images = serve(num_samples=tf.constant(16), seed=tf.constant(0, tf.int64))["images"].numpy()
again = serve(num_samples=tf.constant(16), seed=tf.constant(0, tf.int64))["images"].numpy()
assert images.dtype == np.uint8 and images.shape[0] == 16, (images.dtype, images.shape)
assert np.array_equal(images, again), "the same seed gave different images"

count, height, width, channels = images.shape
cols = math.ceil(math.sqrt(count))
rows = math.ceil(count / cols)
grid = np.zeros((rows * height, cols * width, channels), np.uint8)
for i, image in enumerate(images):
    r, c = divmod(i, cols)
    grid[r * height:(r + 1) * height, c * width:(c + 1) * width] = image
Image.fromarray(grid[..., 0] if channels == 1 else grid).save(png)
print(f"wrote {count} images {images.shape[1:]} as a {rows}x{cols} grid to {png}")
PY
echo "OK: the SavedModel serves with TensorFlow alone."
