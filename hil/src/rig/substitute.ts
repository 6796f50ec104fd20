/** Values a rig file may refer to as `${name}`: the run's work directory and the rig file's own. */
export interface RigVars {
  readonly work: string;
  readonly rig: string;
}

export type Substituted = { ok: true; text: string } | { ok: false; unknown: string };

/**
 * Replaces `${work}` and `${rig}` in `text`. Anything else in `${…}` is an error rather than left as is:
 * a typo in a port path would otherwise surface much later as a port that never opens.
 */
export function substitute(text: string, vars: RigVars): Substituted {
  let unknown: string | undefined;
  const out = text.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
    if (name === 'work' || name === 'rig') return vars[name];
    unknown ??= whole;
    return whole;
  });
  return unknown === undefined ? { ok: true, text: out } : { ok: false, unknown };
}
