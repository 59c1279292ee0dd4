// Structured logs as JSON lines: {"level","time","msg", bound fields (controller, key, ...),
// call fields}. Child loggers carry bindings, the way logr's WithValues does, so a reconcile logs
// its controller and key without repeating them. Values are redacted on the way out: a Secret's
// data and fields that name credentials never reach a log line.
import type { ApiError } from './rest-client.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(levelRank, value);
}

/** The level from TESSERA_LOG_LEVEL (default info); an unknown value is an error, not a silent default. */
export function levelFromEnvironment(environment: NodeJS.ProcessEnv = process.env): LogLevel {
  const value = environment['TESSERA_LOG_LEVEL']?.trim().toLowerCase();
  if (!value) return 'info';
  if (!isLogLevel(value)) throw new Error(`TESSERA_LOG_LEVEL="${value}" is not a log level: use debug, info, warn or error`);
  return value;
}

export type LoggerOptions = {
  level?: LogLevel;
  /** Receives each line without its newline; default: stderr. */
  write?: (line: string) => void;
  now?: () => Date;
  bindings?: LogFields;
};

// Keys whose values are credentials wherever they appear.
const credentialKey = /^(password|passwd|token|bearer-?token|private-?key|private-?key-?pem|client-key-data|tls\.key|ca\.key|key-?pem|credentials?)$/i;
const redacted = '[redacted]';

function isSecret(value: Record<string, unknown>): boolean {
  return value['kind'] === 'Secret' || (typeof value['type'] === 'string' && /^(Opaque|kubernetes\.io\/|bootstrap\.kubernetes\.io\/)/.test(value['type']) && ('data' in value || 'stringData' in value));
}

/** A JSON-safe copy of `value` with credentials replaced; Errors become {name, message, ...}. */
export function redact(value: unknown, seen = new WeakSet<object>(), depth = 0): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'function' || typeof value === 'symbol') return undefined;
    return value;
  }
  if (depth > 8) return '[depth limit]';
  if (seen.has(value)) return '[circular]';
  if (value instanceof Date) return value.toISOString();
  // `seen` holds the ancestors only: an object referenced twice side by side is not a cycle.
  seen.add(value);
  try {
    return redactObject(value, seen, depth);
  } finally {
    seen.delete(value);
  }
}

function redactObject(value: object, seen: WeakSet<object>, depth: number): unknown {
  if (value instanceof Error) {
    const apiError = value as Partial<ApiError>;
    const out: LogFields = { name: value.name, message: value.message };
    if (typeof apiError.status === 'number') out['status'] = apiError.status;
    if (apiError.reason) out['reason'] = apiError.reason;
    if (value.cause !== undefined) out['cause'] = redact(value.cause, seen, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, seen, depth + 1));
  if (value instanceof Map) return redact(Object.fromEntries(value), seen, depth + 1);
  if (value instanceof Set) return redact([...value], seen, depth + 1);
  const record = value as Record<string, unknown>;
  const secret = isSecret(record);
  const out: LogFields = {};
  for (const [key, item] of Object.entries(record)) {
    if (secret && (key === 'data' || key === 'stringData') && item && typeof item === 'object') {
      // The key names are useful for debugging and are not secret; the values are.
      out[key] = Object.fromEntries(Object.keys(item).map((name) => [name, redacted]));
    } else if (credentialKey.test(key) && item !== undefined && item !== null && item !== '') {
      out[key] = redacted;
    } else {
      out[key] = redact(item, seen, depth + 1);
    }
  }
  return out;
}

export class Logger {
  readonly level: LogLevel;
  private readonly write: (line: string) => void;
  private readonly now: () => Date;
  private readonly bindings: LogFields;

  constructor(options: LoggerOptions = {}) {
    this.level = options.level ?? levelFromEnvironment();
    this.write = options.write ?? ((line) => process.stderr.write(`${line}\n`));
    this.now = options.now ?? (() => new Date());
    this.bindings = options.bindings ?? {};
  }

  /** A logger that adds `bindings` to every line (later bindings override earlier ones). */
  child(bindings: LogFields): Logger {
    return new Logger({ level: this.level, write: this.write, now: this.now, bindings: { ...this.bindings, ...bindings } });
  }

  enabled(level: LogLevel): boolean {
    return levelRank[level] >= levelRank[this.level];
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const extra = redact({ ...this.bindings, ...fields }) as LogFields;
    // level, time and msg lead every line and cannot be overridden by a field of the same name.
    delete extra['level'];
    delete extra['time'];
    delete extra['msg'];
    this.write(JSON.stringify({ level, time: this.now().toISOString(), msg, ...extra }));
  }
}

/** A logger that writes nothing, for components created without one. */
export const silentLogger = new Logger({ level: 'error', write: () => {} });
