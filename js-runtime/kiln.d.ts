// Type declarations for the globals a Kiln module provides, beyond the
// ECMAScript standard library (use with "lib": ["es2023"] and no "dom").
//
//   /// <reference path="node_modules/kiln/kiln.d.ts" />  or copy this file.

interface KilnConsole {
  /** Writes to stdout (stderr in function mode), formatted like Node's util.inspect. */
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  debug(...data: unknown[]): void;
  /** Writes to stderr. */
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  /** stderr: "Trace: ..." and the stack. */
  trace(...data: unknown[]): void;
  /** stderr: "Assertion failed: ..." when `condition` is falsy. */
  assert(condition?: unknown, ...data: unknown[]): void;
  table(tabularData: unknown, properties?: string[]): void;
  dir(item: unknown, options?: { depth?: number | null }): void;
  count(label?: string): void;
  countReset(label?: string): void;
  group(...label: unknown[]): void;
  groupCollapsed(...label: unknown[]): void;
  groupEnd(): void;
  time(label?: string): void;
  timeLog(label?: string, ...data: unknown[]): void;
  timeEnd(label?: string): void;
}
declare var console: KilnConsole;

/** Javy-compatible synchronous byte I/O. */
declare const Javy: {
  readonly IO: {
    /** Reads from fd 0 into `data`; returns the byte count, 0 at end of input. */
    readSync(fd: 0, data: Uint8Array): number;
    /** Writes all of `data` to fd 1 (stdout) or 2 (stderr); returns the byte count. */
    writeSync(fd: 1 | 2, data: Uint8Array): number;
  };
  readonly JSON: {
    /** All of stdin parsed as one JSON value. */
    fromStdin(): unknown;
    /** Writes the value's JSON text to stdout (no newline); throws a TypeError if it has none. */
    toStdout(value: unknown): void;
  };
};

/**
 * The API `@shopify/shopify_function` v2 calls. Inside a function-mode
 * invocation: the invocation's input, and its result. In a script: all of
 * stdin as JSON, and the value's JSON text written to stdout (no newline).
 */
declare const ShopifyFunction: {
  readInput(): unknown;
  writeOutput(value: unknown): void;
};

/** Whole-stream I/O. stdin can be read once, by one of the three methods. */
declare const Kiln: {
  readonly stdin: {
    bytes(): Uint8Array;
    /** UTF-8; invalid bytes become U+FFFD. */
    text(): string;
    json(): unknown;
  };
  readonly stdout: {
    /** Writes a string (as UTF-8) or bytes; returns the byte count. */
    write(data: string | Uint8Array): number;
  };
};

declare class TextEncoder {
  readonly encoding: "utf-8";
  encode(input?: string): Uint8Array;
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
}

declare class TextDecoder {
  /** Labels of utf-8, utf-16le and windows-1252 (latin1, ascii, ...). */
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  readonly encoding: "utf-8" | "utf-16le" | "windows-1252";
  readonly fatal: boolean;
  readonly ignoreBOM: boolean;
  decode(input?: ArrayBuffer | ArrayBufferView, options?: { stream?: boolean }): string;
}

declare class DOMException extends Error {
  constructor(message?: string, name?: string);
  readonly name: string;
}

/** Timers run on a virtual clock once the job queue is empty; the module never sleeps. */
declare function setTimeout<A extends unknown[]>(callback: (...args: A) => void, delay?: number, ...args: A): number;
declare function setInterval<A extends unknown[]>(callback: (...args: A) => void, delay?: number, ...args: A): number;
declare function clearTimeout(id: number | undefined): void;
declare function clearInterval(id: number | undefined): void;
declare function queueMicrotask(callback: () => void): void;

declare function structuredClone<T>(value: T, options?: { transfer?: [] }): T;
declare function atob(data: string): string;
declare function btoa(data: string): string;

declare const crypto: {
  /** Fills an integer typed array (at most 65,536 bytes) from WASI random_get. */
  getRandomValues<T extends Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array>(array: T): T;
  randomUUID(): `${string}-${string}-${string}-${string}-${string}`;
};

declare const performance: {
  /** Milliseconds since this run began (monotonic). */
  now(): number;
  readonly timeOrigin: number;
};
