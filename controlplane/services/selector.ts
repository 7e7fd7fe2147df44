// Whether an endpoint's labels satisfy a service's selector (pure).

/**
 * True when `labels` carries every key of `selector` with the same value. An empty selector matches
 * nothing: a service never takes every endpoint of its network by accident.
 */
export function selectorMatches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(selector);
  if (keys.length === 0) return false;
  return keys.every((key) => Object.hasOwn(labels, key) && labels[key] === selector[key]);
}
