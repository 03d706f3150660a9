// Internal: how a server setting gets its value.

/**
 * The option when it was given (even `null`), else the class's static
 * default, so `static override timeout = 5` in a subclass and
 * `{ timeout: 5 }` per instance both work.
 */
export function setting<T>(option: T | undefined, classDefault: T): T {
  return option === undefined ? classDefault : option;
}
