/**
 * The quantiser's error for a model it cannot use.
 *
 * @module
 */

/** Thrown for a model that cannot be quantised (the model folder is left untouched). */
export class QuantizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QuantizeError";
  }
}
