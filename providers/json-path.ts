// Reads a value out of a provider's JSON answer by a catalogue path (`authed_user.access_token`, `0.id`):
// property names and array indexes separated by dots. Only own properties are read, so a path can never
// reach a prototype's. A JSON null reads as absent: providers send `"refresh_token": null` for "none".
export function readPath(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]{0,5})$/.test(segment)) return undefined;
      current = current[Number(segment)];
    } else {
      if (!Object.hasOwn(current, segment)) return undefined;
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return current === null ? undefined : current;
}

/** A scalar at `path` as a string (numbers too: Slack and HubSpot ids can be numbers), or undefined. */
export function readText(value: unknown, path: string): string | undefined {
  const found = readPath(value, path);
  if (typeof found === 'string') return found;
  if (typeof found === 'number' && Number.isFinite(found)) return String(found);
  return undefined;
}
