"""Zero-cost proxies: each proxy on a tiny network against its hand-computed value, the NB201 supernet against
the measured network, the proxies binary (outputs, resume after a kill, user batches, another space)."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip('tensorflow')

from eagle_jax import data  # pylint: disable=g-import-not-at-top,wrong-import-position
from eagle_jax.spaces.nasbench201 import network as nb201_network  # pylint: disable=wrong-import-position
from eagle_jax.proxies import compute, scores  # pylint: disable=wrong-import-position
from eagle_jax.spaces import nasbench201 as nb  # pylint: disable=wrong-import-position

ROOT = Path(__file__).resolve().parents[1]
X = np.array([[1.0, -1.0], [1.0, 1.0]], np.float32)  # two inputs; ReLU codes [1, 0] and [1, 1] under W1 = I


def _tiny(w1, w2, batch=2):
  """x -> Dense(w1) -> ReLU -> Dense(w2), no biases."""
  inputs = tf.keras.Input(batch_shape=(batch, 2))
  hidden = tf.keras.layers.ReLU()(tf.keras.layers.Dense(len(w1[0]), use_bias=False)(inputs))
  outputs = tf.keras.layers.Dense(len(w2[0]), use_bias=False)(hidden)
  model = tf.keras.Model(inputs, outputs)
  model.set_weights([np.array(w1, model.weights[0].dtype), np.array(w2, model.weights[1].dtype)])
  return model


def test_synflow_of_a_tiny_network_by_hand():
  # |W1| = [[1, 2], [3, 4]], |W2| = [1, 2]; ones in: h = [4, 6], R = 4*1 + 6*2 = 16.
  # dR/dW2 = h: sum |W2| h = 16; dR/dW1_ij = |W2_j|: sum |W1_ij||W2_j| = 1 + 4 + 3 + 8 = 16; synflow = 32.
  with scores.float64_layers():
    model = _tiny([[1, -2], [3, 4]], [[-1], [2]], batch=1)
  assert scores.Synflow(model)((1, 2)) == pytest.approx(math.log(32.0))
  assert np.all(model.get_weights()[0] >= 0)  # linearized for good
  with pytest.raises(ValueError, match='float64'):
    scores.Synflow(_tiny([[1, 0], [0, 1]], [[1], [1]], batch=1))


def test_gradient_proxies_of_a_tiny_network_by_hand():
  # W1 = I, W2 = [[1, 0], [1, 1]]: hidden h0 = [1, 0], h1 = [1, 1]; logits z0 = [1, 0], z1 = [2, 1]; labels 0, 1.
  # Mean cross-entropy: dL/dz0 = a [-1, 1], dL/dz1 = b [1, -1] with a = sigmoid(-1)/2, b = sigmoid(1)/2.
  # dL/dW2 = [[b - a, a - b], [b, -b]]; dL/dh0 = a [-1, 0], dL/dh1 = b [1, 0] (masked by the ReLU codes);
  # dL/dW1 = [[b - a, 0], [a + b, 0]].
  a, b = 0.5 / (1 + math.e), 0.5 / (1 + math.exp(-1))
  grad_norm = math.hypot(b - a, a + b) + math.sqrt(2 * (b - a) ** 2 + 2 * b ** 2)
  snip = abs(b - a) + (abs(b - a) + 2 * b)  # |dW1 * W1| (diagonal) + |dW2 * W2| (its three ones)
  # Jacobians d(sum z)/dx = mask * (row sums of W2 = [1, 2]): [1, 0] and [1, 2], correlation -1, eigenvalues 0, 2.
  eps = scores.JACOV_EPSILON
  jacov = -(math.log(eps) + 1 / eps + math.log(2 + eps) + 1 / (2 + eps))
  # Codes [1, 0] and [1, 1]: K = [[1, 1], [1, 2]] + [[1, 0], [0, 0]] = [[2, 1], [1, 2]], log det 3.
  found = scores.Scorer(_tiny([[1, 0], [0, 1]], [[1, 0], [1, 1]])).gradient_proxies(X, np.array([0, 1], np.int32))
  assert found['grad_norm'] == pytest.approx(grad_norm, rel=1e-5)
  assert found['snip'] == pytest.approx(snip, rel=1e-5)
  assert found['jacov'] == pytest.approx(jacov, rel=1e-6)
  assert found['nwot'] == pytest.approx(math.log(3.0), rel=1e-5)


def test_compiled_and_eager_passes_agree():
  model = _tiny([[1, 0.5], [-0.3, 1]], [[1, 0], [1, 1]])
  labels = np.array([1, 0], np.int32)
  eager = scores.Scorer(model).gradient_proxies(X, labels)
  assert scores.Scorer(model, compiled=True).gradient_proxies(X, labels) == pytest.approx(eager, rel=1e-5)


def test_probe_batch_data_free_and_user_files(tmp_path):
  images, labels = scores.probe_batch((4, 8, 8, 3), 10, seed=1)
  again, _ = scores.probe_batch((4, 8, 8, 3), 10, seed=1)
  assert images.shape == (4, 8, 8, 3) and np.array_equal(images, again) and labels.max() < 10
  np.save(tmp_path / 'images.npy', np.random.default_rng(0).integers(0, 256, (6, 8, 8, 3)).astype(np.uint8))
  np.save(tmp_path / 'labels.npy', np.arange(6))
  images, labels = scores.probe_batch((4, 8, 8, 3), 10, 0, str(tmp_path / 'images.npy'), str(tmp_path / 'labels.npy'))
  assert images.shape == (6, 8, 8, 3) and np.allclose(images.mean((0, 1, 2)), 0, atol=1e-5)
  assert labels.tolist() == list(range(6))
  with pytest.raises(ValueError, match='images.npy.*shape'):
    scores.probe_batch((4, 16, 16, 3), 10, 0, str(tmp_path / 'images.npy'))
  with pytest.raises(ValueError, match='labels.npy.*0..4'):
    scores.probe_batch((4, 8, 8, 3), 5, 0, str(tmp_path / 'images.npy'), str(tmp_path / 'labels.npy'))
  with pytest.raises(ValueError, match='cannot read images'):
    scores.probe_batch((4, 8, 8, 3), 5, 0, str(tmp_path / 'missing.npy'))


TINY_NB201 = dict(channels=4, cells_count=1, num_classes=10, seed=0)


@pytest.mark.slow
def test_supernet_scores_the_network_the_measure_binary_builds():
  """Same cell, different random weights: nwot and synflow barely move; the gradient proxies keep their scale."""
  images, labels = scores.probe_batch((8, 32, 32, 3), 10, 0)
  supernet = nb201_network.build_supernet((None, 32, 32, 3), **TINY_NB201)
  scorer = scores.Scorer(supernet, compiled=True)
  with scores.float64_layers():
    synflow = scores.Synflow(nb201_network.build_supernet((None, 32, 32, 3), **TINY_NB201), compiled=True)
  for text in ('|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|',
               '|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|none~2|'):
    vec = np.array(nb.from_arch_str(text))
    live = nb.live_ops(vec[None])[0]
    on_supernet = scorer.gradient_proxies(images, labels, live)
    on_supernet['synflow'] = synflow(images.shape, live)
    alone = scores.score_network(lambda v=vec: nb201_network.build(v, input_size=(8, 32, 32, 3), **TINY_NB201),
                                 images, labels)
    assert on_supernet['nwot'] == pytest.approx(alone['nwot'], rel=0.01), text
    assert on_supernet['synflow'] == pytest.approx(alone['synflow'], rel=0.05), text
    for name in ('grad_norm', 'snip'):
      assert 0.3 < on_supernet[name] / alone[name] < 3, (text, name)


def _config(tmp_path, archs, **overrides):
  config = __import__('configs.proxies.nasbench201', fromlist=['get_config']).get_config()
  (tmp_path / 'archs.txt').write_text('\n'.join(archs) + '\n')
  config.update(archs='list', arch_list=str(tmp_path / 'archs.txt'), batch_size=4, save_every=1, workers=1,
                **overrides)
  config.model.update(TINY_NB201)
  config.costs.num_classes = 10
  return config


NB201_ARCHS = ['|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|',
               '|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|'.replace(
                   'none~0', 'skip_connect~0'),
               '|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|none~2|',  # invalid: no network
               '|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|',
               '|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|']


@pytest.mark.slow
def test_proxies_binary_outputs_and_resumes_after_a_kill(tmp_path, monkeypatch):
  config = _config(tmp_path, NB201_ARCHS)
  calls = {'n': 0}
  original = scores.Scorer.gradient_proxies

  def dies_on_the_third(self, *args):
    calls['n'] += 1
    if calls['n'] == 3:
      raise KeyboardInterrupt('killed')
    return original(self, *args)

  monkeypatch.setattr(scores.Scorer, 'gradient_proxies', dies_on_the_third)
  with pytest.raises(KeyboardInterrupt):
    compute.compute(config, tmp_path / 'zc', progress=False)
  assert (tmp_path / 'zc' / compute.PARTIAL).exists() and not (tmp_path / 'zc' / compute.SUMMARY).exists()
  with pytest.raises(ValueError, match='other archs or settings'):
    compute.compute(_config(tmp_path, NB201_ARCHS, seed=3), tmp_path / 'zc', progress=False)
  summary = compute.compute(config, tmp_path / 'zc', progress=False)
  # 4 networks: 2 scored before the kill (and the invalid cell, which has none, marked done), 2 after
  assert summary['scored_before_this_run'] == 3 and calls['n'] == 5
  assert summary['archs'] == 5 and summary['valid'] == 4 and not (tmp_path / 'zc' / compute.PARTIAL).exists()
  monkeypatch.setattr(scores.Scorer, 'gradient_proxies', original)
  config.workers = 2  # two single-thread processes, each with its own supernet
  fresh = compute.compute(config, tmp_path / 'fresh', progress=False)
  assert fresh['scored_before_this_run'] == 0 and fresh['networks_scored'] == 4
  for name in scores.PROXIES:  # resumed = uninterrupted; the Eagle pickles load as the search reads them
    resumed = data.load_measurements(tmp_path / 'zc' / f'{name}.pickle')
    assert resumed == pytest.approx(data.load_measurements(tmp_path / 'fresh' / f'{name}.pickle'), rel=1e-4)
    assert len(resumed) == 4 and nb.from_arch_str(NB201_ARCHS[2]) not in resumed
  table = data.load_dataset(tmp_path / 'zc' / compute.TABLE, column='flops')
  assert np.allclose(table.values, nb.flops(table.keys, num_classes=10))
  assert json.loads((tmp_path / 'zc' / compute.SUMMARY).read_text())['non_finite']['nwot'] == 0
  (tmp_path / 'fresh' / compute.PARTIAL).write_bytes(b'not an npz')
  with pytest.raises(ValueError, match='not a proxies run in progress'):
    compute.compute(config, tmp_path / 'fresh', progress=False)


@pytest.mark.slow
def test_proxies_of_another_space_use_its_keras_builder(tmp_path):
  config = __import__('configs.proxies.nasbench101', fromlist=['get_config']).get_config()
  config.update(archs='random', num_archs=2, batch_size=4)
  config.model = dict(input_size=(1, 32, 32, 3), stem_channels=8, num_stacks=1, modules_per_stack=1,
                      num_classes=10, seed=0)
  config.costs = dict(stem_channels=8, num_stacks=1, modules_per_stack=1)
  summary = compute.compute(config, tmp_path / 'zc', progress=False)
  assert summary['archs'] == 2 and all(v == 0 for v in summary['non_finite'].values())
  synflow = data.load_dataset(tmp_path / 'zc' / 'synflow.pickle', space='nasbench101')
  assert len(synflow) == 2 and np.all(np.isfinite(synflow.values))
