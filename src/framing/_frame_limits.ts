// Internal: option checks shared by the codecs, so every constructor refuses
// bad settings with the same messages. Not part of the public API.

import { DEFAULT_MAX_FRAME_LENGTH, type FrameLimits, type TooLongPolicy } from "./codec.ts";

/** `FrameLimits` with the defaults filled in and checked. */
export interface ResolvedFrameLimits {
  /** The checked `maxFrameLength`. */
  maxFrameLength: number;
  /** The checked `onTooLong`. */
  onTooLong: TooLongPolicy;
}

/**
 * Checks `maxFrameLength` and `onTooLong` and fills in their defaults.
 *
 * @param codecName The class name, for the message.
 * @param options The caller's options.
 * @returns The limits to use.
 * @throws {TypeError} An option has the wrong type.
 * @throws {RangeError} An option is out of range.
 */
export function resolveFrameLimits(codecName: string, options: FrameLimits): ResolvedFrameLimits {
  const maxFrameLength = checkInteger(
    codecName,
    "maxFrameLength",
    options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH,
    0,
  );
  const onTooLong = options.onTooLong ?? "error";
  if (onTooLong !== "error" && onTooLong !== "discard") {
    throw new RangeError(
      `Cannot create ${codecName}: onTooLong must be "error" or "discard", got ${
        JSON.stringify(onTooLong)
      }`,
    );
  }
  return { maxFrameLength, onTooLong };
}

/**
 * Checks that an option is a safe integer of at least `min`.
 *
 * @param codecName The class name, for the message.
 * @param name The option name, for the message.
 * @param value The value given.
 * @param min The smallest allowed value.
 * @returns `value`.
 * @throws {TypeError} `value` is not a number.
 * @throws {RangeError} `value` is not a safe integer of at least `min`.
 */
export function checkInteger(
  codecName: string,
  name: string,
  value: unknown,
  min: number = Number.MIN_SAFE_INTEGER,
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot create ${codecName}: ${name} must be a number, got ${typeof value}`,
    );
  }
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `Cannot create ${codecName}: ${name} must be ${
        min === Number.MIN_SAFE_INTEGER ? "a safe integer" : `an integer of at least ${min}`
      }, got ${value}`,
    );
  }
  return value;
}

/**
 * Checks that an option is a boolean.
 *
 * @param codecName The class name, for the message.
 * @param name The option name, for the message.
 * @param value The value given.
 * @returns `value`.
 * @throws {TypeError} `value` is not a boolean.
 */
export function checkBoolean(codecName: string, name: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot create ${codecName}: ${name} must be a boolean, got ${typeof value}`,
    );
  }
  return value;
}
