"""The one place where predictors and their parameters come from: fresh (seeded, sized for a space and its
zero-cost augments), loaded from a checkpoint, or transferred (body loaded, head fresh)."""
import jax
import ml_collections

from eagle_jax import spaces
from eagle_jax.predictors import checkpoints, models


def create_model(model_config: ml_collections.ConfigDict) -> models.Predictor:
  """The predictor of a config.model section; ValueError naming the key of a bad choice."""
  for key, choices in (('predictor', models.BODIES), ('head', models.HEADS),
                       ('message_passing', models.MESSAGE_PASSING)):
    if model_config.get(key, choices[0]) not in choices:
      raise ValueError(f'config.model.{key} must be one of {choices}, got {model_config.get(key)!r}')
  ensemble = model_config.get('ensemble', 1)
  if isinstance(ensemble, bool) or not isinstance(ensemble, int) or ensemble < 1:
    raise ValueError(f'config.model.ensemble must be an integer >= 1 (predictors in the ensemble), got {ensemble!r}')
  return models.Predictor(body=model_config.predictor, head=model_config.head,
                          num_layers=model_config.num_layers, num_hidden=model_config.num_hidden,
                          dropout_rate=model_config.dropout, message_passing=model_config.get('message_passing',
                                                                                              'dense'),
                          ensemble=ensemble)


def fresh_params(model: models.Predictor, space, seed: int, num_augments: int = 0):
  """Seeded parameters for `space`'s graphs; `num_augments` zero-cost values are appended to each embedding."""
  space = spaces.get(space)
  adjacency = jax.numpy.zeros((2, space.num_nodes, space.num_nodes), jax.numpy.float32)
  features = jax.numpy.zeros((2, space.num_nodes, space.num_features), jax.numpy.float32)
  augments = jax.numpy.zeros((2, num_augments), jax.numpy.float32) if num_augments else None
  return model.init({'params': jax.random.PRNGKey(seed)}, adjacency, features, augments)['params']


def initial_params(model: models.Predictor, space, seed: int, num_augments: int = 0, load_from: str = '',
                   transfer_from: str = ''):
  """Fresh parameters, or a checkpoint's (`load_from`: all of them; `transfer_from`: all but the head). A
  checkpoint trained on another space or with another shape is refused, naming it."""
  params = fresh_params(model, space, seed, num_augments)
  source = load_from or transfer_from
  if not source:
    return params
  loaded, card = checkpoints.load(source)
  checkpoints.check_space(card, space, source)
  if load_from:
    checkpoints.check_compatible(loaded, params, source)
    return loaded
  return checkpoints.transfer(loaded, params, source)
