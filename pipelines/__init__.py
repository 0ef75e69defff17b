"""Pipelines: the generation engine, shard writing, preview, data loading, training, evaluation, CLI."""
