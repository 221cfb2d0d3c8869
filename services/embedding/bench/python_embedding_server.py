"""The usual alternative to our EmbeddingService, for the benchmark: a Python grpcio server with a thread pool
running the same two-tower model directory with onnxruntime, answering the same funnel.v1 protos.

It does what our service does per request, written the way such a server is usually written: by-id inputs are
pseudonymised with the same salted SHA-256 and looked up in embeddings/*.f32; by-feature inputs go through
the model's feature-spec.json exactly as services/two-tower/src/features/encode-features.ts applies it
(imputation, log1p, standardisation, clipping, vocabularies, left-padded sequences), then one ONNX run of the
tower per request (no cross-request batching, no response cache).

Stubs are generated from the repository's .proto files with grpcio-tools into a temporary directory at start.
Prints one JSON line {"ready": true, "port": N, ...} on stdout once it serves; stops on SIGTERM.

Usage: python3 python_embedding_server.py --proto-root proto --model-dir DIR [--port 0] [--max-workers 10]
       [--salt funnel-dev-salt] [--model-name two-tower] [--model-version 1]
"""

import argparse
import atexit
import hashlib
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
from concurrent import futures

import grpc
import numpy as np
import onnxruntime as ort
from grpc_tools import protoc

# Mirrors services/two-tower: event.ts (enum names in proto order, 1-based), feature-spec.ts, pseudonymise.ts.
DEVICES = ["desktop", "mobile", "tablet"]
PAGES = ["home", "search", "product", "payment", "confirmation"]
INTERACTIONS = ["click", "scroll", "hover", "form"]
USER_NUMERIC_FIELDS = [
    ("sessionCount", "session_count"),
    ("avgSessionDurationSeconds", "avg_session_duration_seconds"),
    ("interactionCount", "interaction_count"),
    ("interactionDensity", "interaction_density"),
    ("conversionCount", "conversion_count"),
    ("conversionRate", "conversion_rate"),
]
ITEM_NUMERIC_FIELDS = [("avgDurationSeconds", "avg_duration_seconds")]
PAD_INDEX = 0
OOV_INDEX = 1
CLIP = 5.0
PSEUDONYM_LENGTH = 24
MAX_INPUTS = 1024


class BadInput(Exception):
    """A client error: answered INVALID_ARGUMENT with the message."""


def generate_stubs(proto_root):
    out = tempfile.mkdtemp(prefix="funnel-py-stubs-")
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    files = ["funnel/v1/common.proto", "funnel/v1/embedding.proto"]
    code = protoc.main(["grpc_tools.protoc", f"-I{proto_root}", f"--python_out={out}", f"--grpc_python_out={out}", *files])
    if code != 0:
        raise SystemExit(f"grpc_tools.protoc failed ({code}) for {files} under {proto_root}")
    sys.path.insert(0, out)
    from funnel.v1 import embedding_pb2, embedding_pb2_grpc

    return embedding_pb2, embedding_pb2_grpc


class Vocab:
    def __init__(self, spec):
        # index 0 is padding, 1 out-of-vocabulary, token i is i + 2 (feature-spec.ts).
        self.index = {token: i + 2 for i, token in enumerate(spec["tokens"])}

    def lookup(self, value):
        if value is None or value == "":
            return OOV_INDEX
        return self.index.get(value, OOV_INDEX)


def enum_name(names, value):
    # proto enums number values 1..n in the order of the name lists; 0 and unknown numbers are "absent" (OOV).
    return names[value - 1] if 1 <= value <= len(names) else None


def scale(feature, value, where):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raw = feature["impute"]
    elif math.isfinite(value) and value >= 0:
        raw = value
    else:
        raise BadInput(f"{where} must be a finite number >= 0 or absent, got {value}")
    transformed = math.log1p(raw) if feature["transform"] == "log1p" else raw
    z = (transformed - feature["mean"]) / feature["std"]
    return max(-CLIP, min(CLIP, z))


def optional(message, field):
    return getattr(message, field) if message.HasField(field) else None


class Model:
    def __init__(self, model_dir, salt):
        with open(os.path.join(model_dir, "feature-spec.json"), encoding="utf-8") as f:
            self.spec = json.load(f)
        self.salt = salt.encode()
        self.vocab = {name: Vocab(v) for name, v in self.spec["vocab"].items()}
        self.seq_len = self.spec["sequenceLength"]
        self.user_session = ort.InferenceSession(os.path.join(model_dir, "user_tower.onnx"), providers=["CPUExecutionProvider"])
        self.item_session = ort.InferenceSession(os.path.join(model_dir, "item_tower.onnx"), providers=["CPUExecutionProvider"])
        self.users, self.user_row = self._table(model_dir, "users")
        self.items, self.item_row = self._table(model_dir, "items")
        self.dim = self.users.shape[1]

    @staticmethod
    def _table(model_dir, name):
        with open(os.path.join(model_dir, "embeddings", f"{name}.ids.txt"), encoding="utf-8") as f:
            ids = f.read().split("\n")
        ids = [i for i in ids if i]
        vectors = np.fromfile(os.path.join(model_dir, "embeddings", f"{name}.f32"), dtype="<f4").reshape(len(ids), -1)
        return vectors, {pid: row for row, pid in enumerate(ids)}

    def pseudonym(self, user_id):
        return hashlib.sha256(self.salt + b"\x00" + user_id.encode()).hexdigest()[:PSEUDONYM_LENGTH]

    def encode_users(self, features_list):
        n = len(features_list)
        spec_numeric = self.spec["user"]["numeric"]
        numeric = np.zeros((n, len(spec_numeric)), dtype=np.float32)
        device = np.zeros((n, 1), dtype=np.int32)
        recent_items = np.zeros((n, self.seq_len), dtype=np.int32)  # PAD_INDEX
        recent_pages = np.zeros((n, self.seq_len), dtype=np.int32)
        for row, (where, user) in enumerate(features_list):
            for col, (name, field) in enumerate(USER_NUMERIC_FIELDS):
                numeric[row, col] = scale(spec_numeric[col], optional(user, field), f"{where}.{name}")
            device[row, 0] = self.vocab["device"].lookup(enum_name(DEVICES, user.device))
            recent = list(user.recent_interactions)
            kept = recent[-self.seq_len :] if recent else []
            offset = self.seq_len - len(kept)
            for i, interaction in enumerate(kept):
                recent_items[row, offset + i] = self.vocab["item"].lookup(interaction.item_id)
                recent_pages[row, offset + i] = self.vocab["page"].lookup(enum_name(PAGES, interaction.page))
        feeds = {"numeric": numeric, "device": device, "recentItems": recent_items, "recentPages": recent_pages}
        return self.user_session.run(["embedding"], feeds)[0]

    def encode_items(self, features_list):
        n = len(features_list)
        spec_numeric = self.spec["item"]["numeric"]
        numeric = np.zeros((n, len(spec_numeric)), dtype=np.float32)
        columns = {name: np.zeros((n, 1), dtype=np.int32) for name in ("itemIndex", "page", "interaction", "category")}
        for row, (where, item) in enumerate(features_list):
            for col, (name, field) in enumerate(ITEM_NUMERIC_FIELDS):
                numeric[row, col] = scale(spec_numeric[col], optional(item, field), f"{where}.{name}")
            columns["itemIndex"][row, 0] = self.vocab["item"].lookup(item.item_id)
            columns["page"][row, 0] = self.vocab["page"].lookup(enum_name(PAGES, item.page))
            columns["interaction"][row, 0] = self.vocab["interaction"].lookup(enum_name(INTERACTIONS, item.interaction))
            columns["category"][row, 0] = self.vocab["category"].lookup(item.category)
        return self.item_session.run(["embedding"], {"numeric": numeric, **columns})[0]


def make_servicer(pb2, pb2_grpc, model, model_ref):
    def embed(inputs, field, id_field, lookup, encode, response_type, context):
        if len(inputs) == 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: give at least one input")
        if len(inputs) > MAX_INPUTS:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {len(inputs)} inputs, at most {MAX_INPUTS} per call")
        vectors = [None] * len(inputs)
        by_features, rows = [], []
        for i, entry in enumerate(inputs):
            kind = entry.WhichOneof("input")
            if kind == id_field:
                vector = lookup(getattr(entry, id_field))
                if vector is None:
                    context.abort(grpc.StatusCode.NOT_FOUND, f"{field}[{i}].{id_field}: unknown id {getattr(entry, id_field)!r}")
                vectors[i] = vector
            elif kind == "features":
                by_features.append((f"{field}[{i}].features", entry.features))
                rows.append(i)
            else:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{field}[{i}]: set {id_field} or features")
        if by_features:
            try:
                encoded = encode(by_features)
            except BadInput as error:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            for j, i in enumerate(rows):
                vectors[i] = encoded[j]
        response = response_type(model=model_ref)
        for entry, vector in zip(inputs, vectors):
            embedding = response.embeddings.add(id=getattr(entry, id_field))
            embedding.vector.values.extend(vector.tolist())
        return response

    def user_vector(user_id):
        row = model.user_row.get(model.pseudonym(user_id))
        return None if row is None else model.users[row]

    def item_vector(item_id):
        row = model.item_row.get(item_id)
        return None if row is None else model.items[row]

    class EmbeddingServicer(pb2_grpc.EmbeddingServiceServicer):
        def EmbedUsers(self, request, context):
            return embed(request.users, "users", "user_id", user_vector, model.encode_users, pb2.EmbedUsersResponse, context)

        def EmbedItems(self, request, context):
            return embed(request.items, "items", "item_id", item_vector, model.encode_items, pb2.EmbedItemsResponse, context)

    return EmbeddingServicer()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proto-root", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-workers", type=int, default=10)
    parser.add_argument("--salt", default="funnel-dev-salt")
    parser.add_argument("--model-name", default="two-tower")
    parser.add_argument("--model-version", default="1")
    args = parser.parse_args()

    pb2, pb2_grpc = generate_stubs(args.proto_root)
    from funnel.v1 import common_pb2

    model = Model(args.model_dir, args.salt)
    model_ref = common_pb2.ModelRef(name=args.model_name, version=args.model_version)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.max_workers))
    pb2_grpc.add_EmbeddingServiceServicer_to_server(make_servicer(pb2, pb2_grpc, model, model_ref), server)
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    ready = {"ready": True, "port": port, "maxWorkers": args.max_workers, "grpcio": grpc.__version__, "onnxruntime": ort.__version__, "python": sys.version.split()[0]}
    print(json.dumps(ready), flush=True)
    stopped.wait()
    server.stop(grace=1).wait()


if __name__ == "__main__":
    main()
