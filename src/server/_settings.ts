// Internal: how a server's settings get their values, Python's way. A setting
// is declared three times, each for its reader: the option (per instance,
// documented with its @default), the static field (the default, which a
// subclass overrides as Python code overrides a class attribute:
// `static override timeout = 5`) and the instance field (the value in force).
// This one function joins them, once per class, so no constructor repeats
// the rule.

/**
 * Resolves the named settings: the option when it was given (even `null`),
 * else the static field of the same name on `Class`. Pass `new.target` as
 * `Class`, so a subclass's static override is the one read.
 *
 * @param Class The class being constructed, whose static fields are the defaults.
 * @param options The constructor options.
 * @param names The settings to resolve: static fields of `Class`.
 * @returns The settings in force, ready for `Object.assign(this, …)`.
 */
export function resolveSettings<Defaults, Name extends keyof Defaults>(
  Class: Defaults,
  options: { readonly [K in Name]?: Defaults[K] },
  names: readonly Name[],
): Pick<Defaults, Name> {
  const settings = {} as Pick<Defaults, Name>;
  for (const name of names) {
    const option = options[name];
    settings[name] = option === undefined ? Class[name] : option as Defaults[Name];
  }
  return settings;
}
