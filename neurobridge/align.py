"""The whole method behind sklearn-style calls: a coupling through the bridges, then a conditional flow.

    aligner = Aligner(seed=0).fit(source, target, bridges)    # coupling="auto": chosen by validation on the bridges
    transported = aligner.transform(new_source)          # an assembly in the target space
    aligner.selection_                                   # the candidates' held-out scores and the choice

``fit`` fits a coupling method (an object from :data:`neurobridge.couplings.METHODS`, or any object with
``fit(x, y, bridges) -> Coupling``) and, unless the coupling fits a map of its own, trains a conditional flow on its
pairs (Gholamzadeh & Sajid 2025, arXiv:2505.12322):

- ``"auto"`` (the default): k-fold validation over the bridges, scored on what the user gets. Paired bridges: ridge
  on the bridges or OT self-training of the map on the unpaired pools, by the median per-site r of held-out bridges'
  predictions (their points in neither validation pool). Label-matched bridges: label spreading (screened out where
  its spread classes stray from the bridges' class balance), the paper's bridge-OT or supervised-only, by the readout
  of held-out exemplars. The held-out scores and the choice are in ``selection_``
  (:class:`~neurobridge.couplings.AutoCoupling`);
- ``"self-training"``, ``"self-training-kernel"``, ``"ridge"``: maps for paired bridges (see
  :mod:`neurobridge.couplings.methods.self_training`); ``transform`` returns the map's prediction;
- ``"bridge-ot"`` (global, the paper's method): the bridge cost ``C[i, j] = min_k A[i, k] + B[k, j]`` over the whole
  pools, one entropic plan (balanced, or unbalanced with ``unbalanced=(tau_a, tau_b)``), pairs ``j ~ P[i, :]`` drawn at
  every step;
- ``"minibatch-bridge-ot"`` (local): per training batch, a ``B x B`` plan on the bridge cost (exact network simplex by
  default, entropic Sinkhorn with ``solver="sinkhorn"``);
- ``"exemplar"`` (Setting 2): each source point coupled to targets through its nearest exemplars, no ``n x m`` matrix;
- ``"supervised"``: the ``K`` bridges alone (the baseline that ignores the unlabelled points);
- ``"gw"``: entropic Gromov-Wasserstein between the two spaces' own geometries (no bridges in the cost);
- ``"map-refined"``, ``"regression-map"``, ``"geodesic"``, ``"label-spreading"``, ``"relation"``: the couplings beyond
  the paper (see :mod:`neurobridge.couplings.methods`);
- ``"fgw"``, ``"map"``, ``"relative"``: the reference couplings of :mod:`neurobridge.couplings.reference`.

``transform`` returns the point estimate of ``E[y | x]``: the coupling's map where it has one, else the mean of
``n_samples`` flow draws (8 by default), integrated from Gaussian noise conditioned on each source point. ``sample``
returns the flow's draws (training the flow on first use when a map is the point estimate).

Objects compose: ``Aligner(coupling=BridgeOT(epsilon=1e-2), flow="small")``. The string form takes the coupling's
parameters as keywords (``epsilon``, ``unbalanced``, ``metric``, ``cost``, ``k``, ``temperature``,
``solver_kwargs``); a keyword the chosen coupling does not have is an error at ``fit``, never silently ignored.
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator

from neurobridge._validation import check_choice, check_integer, check_number, check_points, check_seed

__all__ = ["Aligner", "POINT_ESTIMATES"]

POINT_ESTIMATES = ("auto", "map", "flow")

_SHORTHAND = ("epsilon", "unbalanced", "metric", "cost", "k", "temperature", "solver_kwargs")


class Aligner(BaseEstimator):
    """Align a source space to a target space through a few bridges (a scikit-learn estimator).

    Parameters
    ----------
    coupling : a name in :data:`neurobridge.couplings.METHODS` (see the module docstring) or a coupling-method
        object (``fit(x, y, bridges) -> Coupling``), e.g. ``BridgeOT(epsilon=1e-2)``.
    epsilon, unbalanced, metric, cost, k, temperature, solver_kwargs : shorthand for the named coupling's
        parameters of the same names. ``None`` keeps the coupling's default: ``epsilon=1e-2`` (on
        digits 0.1 per minibatch blurred the plan to 64 % class agreement against 82 % at 1e-2),
        ``metric="cosine"``, ``cost="exact"``, the exemplar coupling's ``k=10``, ``temperature=0.1``, the soft-min
        cost's ``temperature=0.05``, ``solver_kwargs={"tol": 1e-4}``. Setting one the coupling does not have raises.
    flow : velocity network, ``"small"``, ``"medium"``, ``"large"`` or ``"mlp"``; ``flow_kwargs`` go to
        :class:`~neurobridge.flows.ConditionalFlow` (e.g. ``network_kwargs``, ``sigma``, ``ema``).
    steps, batch_size, lr : flow training. A near-deterministic plan (paired bridges: the map-refined coupling gives
        each source one partner) asks the flow to learn a function ``x -> y(x)``, the straight-path velocity
        ``v(t, z; x) = (y(x) - z) / (1 - t)`` (Lipman et al. 2023; conditioned on ``x`` as in Tong et al. 2024), at
        every pool point, and a short run underfits it: on paired MNIST (2,000 points, 5 % bridges) the plan retrieves
        every partner, ``transform`` after 300 steps 80 %, after 1,000 steps 97 %, after the default 2,000 steps 99 %
        (``benchmarks/README_couplings_beyond.md``). Keep the default or more when shortening runs on paired data.
    ode_steps, ode_method : transport integration (fixed-step ``"euler"``/``"midpoint"``/``"rk4"`` or ``"dopri5"``).
    pin_bridges : for the couplings that propose partners for every point, give a sampled bridge its known partner
        instead of the plan's (default True; the ``supervised`` coupling samples the bridges themselves).
    point_estimate : what :meth:`transform` returns. ``"auto"`` (default): the coupling's own map where it fits one
        (``self-training``, ``ridge``; ``log["point_estimate"]``), else the mean of the flow's draws; ``"map"``: the
        map (an error at ``fit`` for a coupling without one); ``"flow"``: always the flow mean. With a map as the
        point estimate the flow is trained only when :meth:`sample` first needs it. On noisy responses the map is the
        better estimate of ``E[y | x]``: on the noisy-population benchmark (ceiling 0.6, 5 % bridges, seed 0) the
        self-trained map reached median site r 0.478 on held-out images, the mean of 1 / 8 draws of a flow trained on
        the same coupling 0.308 / 0.446 (its Monte-Carlo sd 0.73 / 0.26 of the responses' sd), after 2,000 flow steps.
    device : ``"auto"`` (CUDA, then MPS, then CPU), or a device name. seed : all randomness (the flow, the draws and, for a coupling named by string that takes a seed, its folds and subsamples).

    Learned attributes: ``coupling_method_`` (the method object that was fitted), ``coupling_`` (always a
    :class:`~neurobridge.couplings.Coupling`: a plan, or plan-free with its sampler), ``selection_`` (the coupling's
    model selection, where it made one), ``sampler_``, ``flow_``, ``bridges_``, ``d_source_``, ``d_target_``,
    ``fit_seconds_`` and ``timings_`` (seconds spent on the coupling and on the flow), ``point_estimate_`` (``"map"``
    or ``"flow"``: what :meth:`transform` returns).
    """

    def __init__(
        self,
        coupling="auto",
        *,
        epsilon=None,
        unbalanced=None,
        metric=None,
        cost=None,
        k=None,
        temperature=None,
        solver_kwargs=None,
        flow="small",
        flow_kwargs=None,
        steps=2000,
        batch_size=256,
        lr=1e-3,
        ode_steps=32,
        ode_method="euler",
        pin_bridges=True,
        point_estimate="auto",
        device="auto",
        seed=0,
        progress=True,
    ):
        self.coupling = coupling
        self.epsilon = epsilon
        self.unbalanced = unbalanced
        self.metric = metric
        self.cost = cost
        self.k = k
        self.temperature = temperature
        self.solver_kwargs = solver_kwargs
        self.flow = flow
        self.flow_kwargs = flow_kwargs
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.ode_steps = ode_steps
        self.ode_method = ode_method
        self.pin_bridges = pin_bridges
        self.point_estimate = point_estimate
        self.device = device
        self.seed = seed
        self.progress = progress

    def _shorthand(self) -> dict:
        return {key: getattr(self, key) for key in _SHORTHAND if getattr(self, key) is not None}

    def _coupling_method(self):
        """The coupling-method object ``fit`` uses: built from ``METHODS`` for a name, the object itself otherwise."""
        from neurobridge.couplings import METHODS

        given = self._shorthand()
        if isinstance(self.coupling, str):
            if self.coupling not in METHODS:
                raise ValueError(f"coupling must be one of {tuple(METHODS)} or an object with fit(x, y, bridges); got {self.coupling!r}")
            cls = METHODS[self.coupling]
            valid = list(cls().get_params())
            params = {}
            for key, value in given.items():
                if key not in valid:
                    raise ValueError(f"{key}={value!r} does not apply to coupling={self.coupling!r} (its parameters: "
                                     f"{', '.join(valid) or 'none'}); drop it")
                params[key] = value
            if "seed" in valid:
                params["seed"] = self.seed
            if "progress" in valid:
                params["progress"] = self.progress
            return cls(**params)
        if not callable(getattr(self.coupling, "fit", None)):
            raise TypeError(f"coupling must be a name in {tuple(METHODS)} or an object with fit(x, y, bridges) -> Coupling; "
                            f"got {type(self.coupling).__name__}")
        if given:
            raise ValueError(f"{', '.join(given)} set on the Aligner, but coupling is an object ({type(self.coupling).__name__}); "
                             "set them on the coupling object instead")
        return self.coupling

    def _check_params(self):
        method = self._coupling_method()
        check = getattr(method, "check_params", None)
        if callable(check):
            check()
        if self.flow_kwargs is not None and not isinstance(self.flow_kwargs, dict):
            raise TypeError(f"flow_kwargs must be a dict of ConditionalFlow keywords; got {type(self.flow_kwargs).__name__}")
        check_integer(self.steps, "steps")
        check_integer(self.batch_size, "batch_size")
        check_number(self.lr, "lr", low=0.0)
        check_integer(self.ode_steps, "ode_steps")
        from neurobridge.flows.ode import METHODS as ode_methods

        check_choice(self.ode_method, "ode_method", ode_methods)
        check_choice(self.point_estimate, "point_estimate", POINT_ESTIMATES)
        if not isinstance(self.pin_bridges, (bool, np.bool_)):
            raise TypeError(f"pin_bridges must be True or False; got {self.pin_bridges!r}")
        check_seed(self.seed)
        return method

    def _check_bridges(self, bridges, n: int, m: int):
        from neurobridge.bridges import Bridges

        if not isinstance(bridges, Bridges):
            raise TypeError(
                f"bridges must be a neurobridge.Bridges (e.g. Bridges.sample(source, target, fraction=0.1, match='label')); got {type(bridges).__name__}"
            )
        if len(bridges) == 0:
            raise ValueError("bridges is empty; the method needs at least one labelled exemplar")
        if bridges.source_index.max() >= n or bridges.target_index.max() >= m:
            raise ValueError(
                f"bridges index positions beyond the pools (source has {n} points, target {m}); "
                "sample the bridges from the same source and target you pass to fit"
            )
        for side, expected, actual in (("source", bridges.n_source, n), ("target", bridges.n_target, m)):
            if expected is not None and expected != actual:
                raise ValueError(f"bridges were sampled from a {side} of {expected} points but fit got {actual}; pass the same pools")
        return bridges

    def fit(self, source, target, bridges) -> Aligner:
        """Couple ``source`` (n x d_x) and ``target`` (m x d_y) through ``bridges``, then train the flow.

        ``source``/``target`` are assemblies or arrays; ``bridges`` is a :class:`~neurobridge.bridges.Bridges` whose
        positions index them. Every parameter is checked before any computation.
        """
        from neurobridge.couplings import Coupling, PinnedBridges

        method = self._check_params()
        start = time.perf_counter()
        x = check_points(source, "source", dtype=np.float32)
        y = check_points(target, "target", dtype=np.float32)
        self.bridges_ = self._check_bridges(bridges, len(x), len(y))
        flow = self._new_flow()
        coupling = method.fit(x, y, self.bridges_)
        if not isinstance(coupling, Coupling):
            raise TypeError(f"{type(method).__name__}.fit must return a neurobridge.couplings.Coupling; got {type(coupling).__name__}")
        predictor = coupling.log.get("point_estimate")
        if self.point_estimate == "map" and predictor is None:
            raise ValueError(f"point_estimate='map' needs a coupling that fits a map (self-training, ridge); "
                             f"{coupling.method or type(method).__name__} has none. Use point_estimate='auto' or 'flow'")
        self.coupling_method_, self.coupling_ = method, coupling
        self.selection_ = coupling.log.get("selection")
        self.sampler_ = coupling.pair_sampler()
        if self.pin_bridges and getattr(method, "pin_bridges", True) and coupling.log.get("pin_bridges", True):
            self.sampler_ = PinnedBridges(self.sampler_, self.bridges_)
        self.d_source_, self.d_target_ = x.shape[1], y.shape[1]
        self.point_estimate_ = "map" if predictor is not None and self.point_estimate != "flow" else "flow"
        self.map_ = predictor
        self.target_coords_ = self._target_coords(target)
        coupled = time.perf_counter()
        self.timings_ = {"coupling": coupled - start, "flow": 0.0}
        if self.point_estimate_ == "flow":
            self.flow_ = flow.fit(source, target, sampler=self.sampler_)
        else:
            self._pools = (source, target)
        done = time.perf_counter()
        self.timings_["flow"] = done - coupled
        self.fit_seconds_ = done - start
        return self

    def _new_flow(self):
        from neurobridge.flows import ConditionalFlow

        flow_kwargs = {"network": self.flow, "steps": self.steps, "batch_size": self.batch_size, "lr": self.lr,
                       "device": self.device, "seed": self.seed, "progress": self.progress, **(self.flow_kwargs or {})}
        flow = ConditionalFlow(**flow_kwargs)
        flow.check_params()
        return flow

    @staticmethod
    def _target_coords(target):
        import xarray as xr

        from neurobridge.flows.inputs import coords_to_json

        return coords_to_json(target) if isinstance(target, xr.DataArray) else None

    def _ensure_flow(self):
        """Train the flow on the coupling's pairs the first time it is needed (a map point estimate defers it)."""
        if hasattr(self, "flow_"):
            return self.flow_
        source, target = self._pools
        start = time.perf_counter()
        self.flow_ = self._new_flow().fit(source, target, sampler=self.sampler_)
        self.timings_["flow"] += time.perf_counter() - start
        self.fit_seconds_ += time.perf_counter() - start
        del self._pools
        return self.flow_

    def _check_fitted(self):
        if not hasattr(self, "coupling_"):
            raise RuntimeError("this Aligner is not fitted yet; call fit(source, target, bridges) first")

    def transform(self, source, n_samples: int = 8, *, seed: int | None = None):
        """Transport ``source`` into the target space: the package's point estimate of ``E[y | x]`` per source point.

        With ``point_estimate_ == "map"`` (the default for couplings that fit a map: ``self-training``, ``ridge``) it
        is the map's prediction, deterministic, and ``n_samples`` and ``seed`` are unused. Otherwise it is the mean of
        ``n_samples`` flow draws (default 8; ``n_samples=1`` gives one stochastic draw): the flow models ``p(y | x)``,
        and the mean of ``S`` draws estimates ``E[y | x]`` with a Monte-Carlo error that falls as ``1 / sqrt(S)``.
        On a near-deterministic plan single draws spread wider than the plan's conditional (paired MNIST: one draw
        retrieves 95 % of partners, the mean of 8 99 %, of 16 no more). An assembly in gives an assembly out, with
        the source's presentation coords and the target's neuroid coords.
        """
        self._check_fitted()
        check_integer(n_samples, "n_samples")
        if seed is not None:
            check_seed(seed)
        if self.point_estimate_ == "map":
            return self._predict_map(source)
        return self._ensure_flow().transport(source, n_samples=n_samples, steps=self.ode_steps, method=self.ode_method, seed=seed).mean

    def _predict_map(self, source):
        import xarray as xr

        from neurobridge.assemblies import NEUROID, PRESENTATION
        from neurobridge.flows.inputs import coords_from_json, presentation_coord_dict

        x = check_points(source, "source", dtype=np.float64)
        if x.shape[1] != self.d_source_:
            raise ValueError(f"source has {x.shape[1]} features but the Aligner was fitted on d_source={self.d_source_}; "
                             f"pass points of the source space, shape (n, {self.d_source_})")
        mean = self.map_.predict(x).astype(np.float32)
        if not isinstance(source, xr.DataArray):
            return mean
        target = self.target_coords_ or {"neuroid_id": [f"n_{j}" for j in range(self.d_target_)]}
        coords = {**presentation_coord_dict(source), **coords_from_json(target)}
        return xr.DataArray(mean, dims=(PRESENTATION, NEUROID), coords=coords, name="transported")

    def sample(self, source, n_samples: int = 8, *, seed: int | None = None):
        """``n_samples`` draws of ``p(y | x)`` per source point, shape ``(n, n_samples, d_y)`` (or an assembly), from the
        flow trained on the coupling's pairs (trained here on first use when the point estimate is a map)."""
        self._check_fitted()
        check_integer(n_samples, "n_samples")
        if seed is not None:
            check_seed(seed)
        return self._ensure_flow().transport(source, n_samples=n_samples, steps=self.ode_steps, method=self.ode_method, seed=seed).samples

    def save(self, path):
        """Write this fitted Aligner to ``path`` atomically, with a format and package-version header
        (:func:`neurobridge.persistence.save`); read it back with :meth:`Aligner.load`."""
        from neurobridge.persistence import save

        self._check_fitted()
        return save(self, path)

    @classmethod
    def load(cls, path, *, map_location="cpu", check_version: bool = True) -> Aligner:
        """Read an Aligner written by :meth:`save`, refusing another file format or neurobridge version.

        **This unpickles the file: load only files you trust** (:func:`neurobridge.persistence.load`)."""
        from neurobridge.persistence import load

        return load(path, expected_class=f"{cls.__module__}.{cls.__qualname__}", map_location=map_location,
                    check_version=check_version)
