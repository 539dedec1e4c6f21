// The network lab's link: a race's shared training configuration, its racers and its loss-surface
// settings as URL fields. Reads no page data, so the run log writes its "open in lab" links with the
// same fields the lab reads.

import { T, UrlState } from "./common.js";
import { configFields, configFromStart } from "./run_config.js";

/** The planes a loss surface is drawn in: PCA of the racers' weights, or two random directions. */
export const SURFACE_KINDS = [
  { name: "pca", label: "PCA", title: "the plane of the racers' trajectories: their first two principal components" },
  { name: "random", label: "Random", title: "two random directions, each filter-normalized (Li et al., 2018)" },
];

const PER_RACER = ["optimizer", "hyper"]; // each racer has its own

/**
 * The lab's URL fields for the training schema `config` (GET /api/networks' `config`): every
 * training field with a link key but the optimizer's, the racers, and the loss surface's plane,
 * resolution and recomputation interval.
 */
export function labFields(config) {
  return [
    ...configFields(config).filter((f) => !PER_RACER.includes(f.name)),
    { name: "racers", key: "racers", type: T.racers },
    { name: "plane", key: "plane", type: T.string },
    { name: "resolution", key: "res", type: T.int },
    { name: "surfaceEvery", key: "replane", type: T.int },
  ];
}

/**
 * The lab's link for a logged race: `config` is one racer's training configuration as the run log
 * keeps it (its `race_racers`: every racer of the race, [{optimizer, hyper}]); `surface` the race's
 * {kind, resolution, every} where the log kept it.
 */
export function labUrl(schema, config, surface = null) {
  const state = {
    ...configFromStart({ config, hyper: config.hyper ?? {} }),
    data: config.data ?? {},
    schedule_params: config.schedule_params ?? {},
    racers: (config.race_racers ?? []).map((r) => ({ optimizer: r.optimizer, hyper: { ...(r.hyper ?? {}) } })),
  };
  if (surface) Object.assign(state, { plane: surface.kind, resolution: surface.resolution, surfaceEvery: surface.every });
  return `/lab?${new UrlState(labFields(schema)).serialize(state)}`;
}
