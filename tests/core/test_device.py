import pytest
import torch

from musegen_cli.device import autocast_dtype, resolve_device, seed_everything
from musegen_cli.errors import UserError


def test_auto_picks_an_available_device():
    device = resolve_device("auto")
    assert device.type == ("cuda" if torch.cuda.is_available() else device.type)
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_asking_for_missing_cuda_is_a_user_error():
    with pytest.raises(UserError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_unknown_device_lists_choices():
    with pytest.raises(UserError, match="choose one of auto, cpu, cuda, mps"):
        resolve_device("tpu")


def test_training_on_cpu_stays_in_float32():
    assert autocast_dtype(torch.device("cpu")) is None


def test_seed_makes_random_choices_repeatable():
    seed_everything(5)
    first = torch.rand(3)
    seed_everything(5)
    assert torch.equal(first, torch.rand(3))
