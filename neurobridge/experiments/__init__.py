"""Experiments that measure the method against baselines: ``neurobridge run digits | mnist | text-image |
imagenet-features | majaj``, ``neurobridge sweep`` and ``neurobridge report`` (see the README's "Experiments")."""
