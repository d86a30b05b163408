"""One torch thread per test process: tiny networks gain nothing from more, and a busy 2-core
machine (CI running notebooks beside the tests) slows oversubscribed threads by 5× or more."""

import torch

torch.set_num_threads(1)
