"""The values every Eagle predictor config shares; configs/predictors/*.py start from these."""
import ml_collections


def eagle_config(measurement: str, space: str, head: str = 'unary', predictor: str = 'gcn',
                 units: str = '') -> ml_collections.ConfigDict:
  """4 x 600 GCN, thomas init, AdamW (wd 5e-4), lr patience 10, early-stopping patience 35, 250 epochs.

  `units='s'` marks latency targets (lower is better; any value that is not positive is refused) for files that do
  not carry their units (bundled and registered datasets do). `space_predictions` writes every enumerated arch's
  prediction after training (NB101 configs turn it off:
  423,624 cells take about a minute; `python -m eagle_jax.train ... --config.space_predictions=True`)."""
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.space = space
  config.repeats = 1
  config.space_predictions = True
  config.data = ml_collections.ConfigDict(dict(
      measurement=measurement, column=ml_collections.FieldReference(None, field_type=str), only_valid=True,
      total_points=ml_collections.FieldReference(None, field_type=int), training_points=100.0,
      validation_points=100.0, normalize=False, log_targets=False, units=units,
      cost_features=()))  # points: counts, or fractions in (0, 1); cost_features: ('flops', 'params') augments
  config.model = ml_collections.ConfigDict(dict(
      predictor=predictor, head=head, num_layers=4, num_hidden=600, dropout=0.2, message_passing='dense',
      ensemble=1, bootstrap=True, calibrate=True))  # ensemble: K members fitted at once, each on a bootstrap
  # resample (bootstrap) and seeded apart; predictions are their mean, with a std (calibrate: scaled so that the
  # validation split's standardised errors have unit variance)
  config.training = ml_collections.ConfigDict(dict(
      epochs=250, learning_rate=3.5e-4, weight_decay=5e-4, lr_scheduler='cosine', lr_patience=10, es_patience=35,
      batch_size=50, shuffle=True, warmup_epochs=0, transfer_from='', load_from='', eval_only=False,
      legacy_last_weights=False))
  return config
