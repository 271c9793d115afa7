import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pg from 'pg';
import { AppError } from '../core/index.js';

/**
 * The thin SQL layer both stores share. SQL is written once with `?` placeholders and portable types
 * (TEXT, INTEGER, DOUBLE PRECISION, ISO-8601 timestamps as TEXT); the PostgreSQL driver numbers the
 * placeholders. Rows come back as `unknown` and are parsed with zod by the store.
 */
export type SqlValue = string | number | null;

/** Adds `column = ?` to `where` (and its value to `params`) for each filter field that is given. */
export function whereEqual(where: string[], params: SqlValue[], fields: readonly (readonly [column: string, value: string | undefined])[]): void {
  for (const [column, value] of fields) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    params.push(value);
  }
}
export type Dialect = 'sqlite' | 'postgres';

export interface SqlExecutor {
  readonly dialect: Dialect;
  all(sql: string, params?: readonly SqlValue[]): Promise<unknown[]>;
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  exec(sql: string): Promise<void>;
}

export interface SqlDriver extends SqlExecutor {
  /** Runs `fn` in one transaction; SQLite takes the write lock first (BEGIN IMMEDIATE). */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A promise-chain mutex: SQLite has one connection, so a transaction must not interleave with other calls. */
function createMutex(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const result = tail.then(fn, fn);
    tail = result.catch(() => undefined);
    return result;
  };
}

export function openSqliteDriver(path: string): SqlDriver {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 10000');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
  } catch (cause) {
    throw new AppError('BAD_INPUT', `cannot open the SQLite store at ${path}; check the path and its permissions`, { cause, details: { path } });
  }
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let stmt = statements.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      if (statements.size > 500) statements.clear();
      statements.set(sql, stmt);
    }
    return stmt;
  };
  const executor: SqlExecutor = {
    dialect: 'sqlite',
    all: async (sql, params = []) => prepare(sql).all(...params),
    run: async (sql, params = []) => prepare(sql).run(...params).changes,
    exec: async (sql) => void db.exec(sql),
  };
  const lock = createMutex();
  return {
    dialect: 'sqlite',
    all: (sql, params) => lock(() => executor.all(sql, params)),
    run: (sql, params) => lock(() => executor.run(sql, params)),
    exec: (sql) => lock(() => executor.exec(sql)),
    transaction: (fn) =>
      lock(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(executor);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      }),
    close: async () => void db.close(),
  };
}

/** `?` → `$1`, `$2` … (the store's SQL holds no `?` inside string literals). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

interface Queryable {
  query(text: string, values?: SqlValue[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

function pgExecutor(client: Queryable): SqlExecutor {
  return {
    dialect: 'postgres',
    all: async (sql, params = []) => (await client.query(numberPlaceholders(sql), [...params])).rows,
    run: async (sql, params = []) => (await client.query(numberPlaceholders(sql), [...params])).rowCount ?? 0,
    exec: async (sql) => void (await client.query(sql)),
  };
}

// DOUBLE PRECISION and INTEGER come back as JS numbers; COUNT(*) (int8) is cast to INTEGER in SQL.
pg.types.setTypeParser(pg.types.builtins.FLOAT8, (value: string) => Number(value));

export async function openPostgresDriver(url: string, poolSize = 10): Promise<SqlDriver> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (cause) {
    await pool.end().catch(() => undefined);
    const safe = url.replace(/\/\/[^@/]*@/, '//***@');
    throw new AppError('UPSTREAM', `cannot connect to PostgreSQL at ${safe}: ${cause instanceof Error ? cause.message : String(cause)}; check --database`, { cause });
  }
  const base = pgExecutor(pool);
  return {
    ...base,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(pgExecutor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
