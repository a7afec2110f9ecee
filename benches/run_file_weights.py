# The current weights of a tagtrain run file (`tagtrain train --run-file FILE`: its "model."
# tensors, the weights after the epoch it was saved at) as a model file that `tagtrain eval`
# scores. The labels, normalisation and thresholds come from a model file of the same run.
# Used to score a run's later epochs against the epoch it kept (BENCHMARKS.md, "A default
# recipe"). Standard library only.
#
#   python3 benches/run_file_weights.py RUN MODEL.safetensors OUT.safetensors
import json
import struct
import sys


def read(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


run_path, model_path, out_path = sys.argv[1:4]
run, run_data = read(run_path)
model, _ = read(model_path)
header = {"__metadata__": model["__metadata__"]}
blobs, offset = [], 0
for name in sorted(k for k in model if k != "__metadata__"):
    tensor = run["model." + name]
    if tensor["shape"] != model[name]["shape"] or tensor["dtype"] != model[name]["dtype"]:
        sys.exit(f"{name}: the run file's tensor does not match the model file's")
    start, end = tensor["data_offsets"]
    header[name] = {"dtype": tensor["dtype"], "shape": tensor["shape"],
                    "data_offsets": [offset, offset + end - start]}
    blobs.append(run_data[start:end])
    offset += end - start
encoded = json.dumps(header).encode()
encoded += b" " * (-len(encoded) % 8)
with open(out_path, "wb") as out:
    out.write(struct.pack("<Q", len(encoded)))
    out.write(encoded)
    for blob in blobs:
        out.write(blob)
step = json.loads(run["__metadata__"]["tagtrain-run"])["step"]
print(f"{out_path}: the weights after step {step}")
