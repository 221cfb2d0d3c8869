// Typed per-call values (as connect-es `context-values.ts`): a middleware or handler sets a value under a
// key, and any layer reads it back with its type, instead of mutable fields on the call context.

/** A typed slot in ContextValues; `defaultValue` is what `get` returns until something sets it. */
export interface ContextKey<T> {
  readonly id: symbol;
  readonly defaultValue: T;
}

/** Creates a key. Keys are compared by identity: create each once, at module level, and export it. */
export function createContextKey<T>(defaultValue: T, options: { description?: string } = {}): ContextKey<T> {
  return { id: Symbol(options.description), defaultValue };
}

/** Values of one call, by key. */
export class ContextValues {
  // Keyed by the key's symbol; a plain object (not a Map) because most calls set one or two values.
  private readonly values: Record<symbol, unknown> = {};

  get<T>(key: ContextKey<T>): T {
    return key.id in this.values ? (this.values[key.id] as T) : key.defaultValue;
  }

  set<T>(key: ContextKey<T>, value: T): this {
    this.values[key.id] = value;
    return this;
  }

  delete(key: ContextKey<unknown>): this {
    delete this.values[key.id];
    return this;
  }
}

/** The model version that answered the call; handlers set it once they know. A metrics label. */
export const modelVersionKey = createContextKey<string>("none", { description: "model version" });

/** The call's request id: the caller's `x-request-id`, or one generated for the call. */
export const requestIdKey = createContextKey<string>("", { description: "request id" });
