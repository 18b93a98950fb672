from __future__ import annotations

import pytest
import torch

from engine import artifacts, device
from engine.data import DataError


def test_env_override_and_amp_policy(monkeypatch):
    monkeypatch.setenv(device.ENV_VAR, "cpu")
    assert device.get_device() == torch.device("cpu")
    assert device.amp_dtype(torch.device("cpu")) is None
    assert device.amp_dtype(torch.device("cuda")) is torch.bfloat16
    assert "CPU" in device.describe()
    monkeypatch.setenv(device.ENV_VAR, "tpu")
    with pytest.raises(ValueError):
        device.get_device()


def test_auto_prefers_cuda_when_present(monkeypatch):
    monkeypatch.setenv(device.ENV_VAR, "auto")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if device._mps_available() else "cpu")
    assert device.get_device().type == expected


def test_artifact_round_trip_and_refusals(tmp_path):
    raw = artifacts.to_bytes("diagnosis", {"w": torch.arange(6.0).reshape(2, 3)}, {"classes": ["0", "1"]})
    tensors, meta = artifacts.load_artifact(raw, "diagnosis")
    assert torch.equal(tensors["w"], torch.arange(6.0).reshape(2, 3)) and meta == {"classes": ["0", "1"]}
    with pytest.raises(DataError, match="saved by the diagnosis page"):
        artifacts.load_artifact(raw, "fraud")
    for junk in (b"", b"not a model", b"\x80\x04\x95" + bytes(50), raw[:40]):  # includes a pickle header
        with pytest.raises(DataError, match="not a model saved by"):
            artifacts.load_artifact(junk, "diagnosis")
