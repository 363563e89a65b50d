"""Comparison of a response hsm-kms gave with the response AWS gave to the same call.

The recordings (recorded.json beside this file) are botocore responses with the values
that differ from run to run replaced by placeholders: `<key-id:1>`, `<key-arn>`,
`arn:<partition>:kms:<region>:111111111111:key/<key-id:1>`, `datetime`,
`ciphertext-blob`, `<signature>`, ... A response matches its recording when

- every object has exactly the recorded member names (an extra or a missing member is a
  difference: it is what an SDK user sees);
- every value has the recorded type, and every literal value is equal: error codes,
  HTTP status codes, enum values, booleans, numbers, lists (in order);
- every string with placeholders matches with each placeholder standing for any text,
  the recorded account id `111111111111` for any twelve digits, and a numbered
  placeholder (`<key-id:1>`) standing for the same value wherever it appears in one case
  (a key id and the ARN that ends in it count as the same value);
- a blob (bytes from botocore) or a timestamp (datetime) stands where the recording
  has a placeholder word for it.

Only `HTTPStatusCode` of `ResponseMetadata` is compared: request ids, headers and retry
counts are not part of the recording.
"""

import datetime
import json
import re

# Whole-value placeholder words of the recordings (LocalStack's key_value transformers
# without reference replacement) that stand for a blob, a timestamp or an opaque token.
PLACEHOLDER_WORDS = {
    "datetime",
    "ciphertext-blob",
    "plaintext",
    "public-key",
    "private-key-ciphertext-blob",
    "private-key-plaintext",
    "shared-secret",
    "import-token",
}

RECORDED_ACCOUNT = "111111111111"
_PLACEHOLDER = re.compile(r"<([^<>]+)>")


class Blob:
    """Bytes from botocore, as compared: only their presence and non-emptiness count."""

    def __init__(self, data):
        self.length = len(data)

    def __repr__(self):
        return f"<{self.length} bytes>"


class Timestamp:
    def __repr__(self):
        return "<timestamp>"


def normalise(value):
    """A botocore response as plain JSON-like data, with blobs and times marked."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "ResponseMetadata":
                out[k] = {"HTTPStatusCode": v.get("HTTPStatusCode")}
            else:
                out[k] = normalise(v)
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return Blob(value)
    if isinstance(value, datetime.datetime):
        return Timestamp()
    if hasattr(value, "read"):  # StreamingBody
        return Blob(value.read())
    return value


def _recorded_metadata(meta):
    return {"HTTPStatusCode": meta.get("HTTPStatusCode")}


def _pattern(text):
    """A regex for a recorded string: placeholders become capture groups."""
    parts = []
    names = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        parts.append(_literal(text[pos : m.start()]))
        parts.append("(.+?)")
        names.append(m.group(1))
        pos = m.end()
    parts.append(_literal(text[pos:]))
    return re.compile("^" + "".join(parts) + "$", re.DOTALL), names


def _literal(text):
    return re.escape(text).replace(re.escape(RECORDED_ACCOUNT), r"\d{12}")


_KEY_ARN_TAIL = re.compile(r"^arn:[^:]+:kms:[^:]*:\d{12}:key/(.+)$")


def _bound_value(name, value):
    """What a numbered placeholder binds: the key id of a key ARN, otherwise the text."""
    m = _KEY_ARN_TAIL.match(value)
    return m.group(1) if m else value


class Comparison:
    """Compares one case's snapshots, keeping the bindings of numbered placeholders."""

    def __init__(self):
        self.bindings = {}

    def compare(self, recorded, actual, path="$"):
        diffs = []
        self._compare(recorded, actual, path, diffs)
        return diffs

    def _compare(self, rec, act, path, diffs):
        if isinstance(rec, dict):
            if not isinstance(act, dict):
                diffs.append(f"{path}: recorded an object, got {_show(act)}")
                return
            rec_keys = set(rec)
            act_keys = set(act)
            for k in sorted(rec_keys - act_keys):
                diffs.append(f"{path}.{k}: recorded member is missing")
            for k in sorted(act_keys - rec_keys):
                diffs.append(f"{path}.{k}: member not in the recording ({_show(act[k])})")
            for k in sorted(rec_keys & act_keys):
                if k == "ResponseMetadata":
                    r, a = _recorded_metadata(rec[k]), act[k]
                    if r != a:
                        diffs.append(f"{path}.{k}: recorded {r}, got {a}")
                    continue
                r, a = rec[k], act[k]
                if isinstance(r, dict) and isinstance(a, str) and k.endswith("Policy"):
                    # A policy recorded as parsed JSON (LocalStack's transformer).
                    try:
                        a = json.loads(a)
                    except ValueError:
                        pass
                self._compare(r, a, f"{path}.{k}", diffs)
            return
        if isinstance(rec, list):
            if not isinstance(act, list):
                diffs.append(f"{path}: recorded a list, got {_show(act)}")
                return
            if len(rec) != len(act):
                diffs.append(f"{path}: recorded {len(rec)} items, got {len(act)}: {_show(act)}")
                return
            for i, (r, a) in enumerate(zip(rec, act)):
                self._compare(r, a, f"{path}[{i}]", diffs)
            return
        if isinstance(rec, str):
            self._compare_string(rec, act, path, diffs)
            return
        # bool, int, float, None: equal values of the same type.
        if type(rec) is not type(act) or rec != act:
            diffs.append(f"{path}: recorded {rec!r}, got {_show(act)}")

    def _compare_string(self, rec, act, path, diffs):
        placeholder = rec in PLACEHOLDER_WORDS or (
            rec.startswith("<") and rec.endswith(">") and _PLACEHOLDER.fullmatch(rec)
        )
        if isinstance(act, Timestamp):
            if rec != "datetime":
                diffs.append(f"{path}: recorded {rec!r}, got a timestamp")
            return
        if isinstance(act, Blob):
            if not placeholder:
                diffs.append(f"{path}: recorded {rec!r}, got a blob")
            elif act.length == 0:
                diffs.append(f"{path}: got an empty blob")
            return
        if not isinstance(act, str):
            diffs.append(f"{path}: recorded {rec!r}, got {_show(act)}")
            return
        if rec in PLACEHOLDER_WORDS:
            if not act:
                diffs.append(f"{path}: got an empty string for {rec!r}")
            return
        regex, names = _pattern(rec)
        m = regex.match(act)
        if not m:
            diffs.append(f"{path}: recorded {rec!r}, got {act!r}")
            return
        for name, value in zip(names, m.groups()):
            if ":" not in name:
                continue  # unnumbered: any value
            bound = _bound_value(name, value)
            if self.bindings.setdefault(name, bound) != bound:
                diffs.append(
                    f"{path}: <{name}> is {bound!r} here but {self.bindings[name]!r} elsewhere"
                )


def _show(value):
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."
