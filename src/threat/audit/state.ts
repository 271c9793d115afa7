import Database from 'better-sqlite3';
import { AppError, errorMessage } from '../../core/index.js';

/**
 * Detector state in a small SQLite file, so a restarted analyzer does not learn its baselines
 * again. Only the learned baselines are kept (burst windows last seconds and are not worth it).
 * `:memory:` gives a throw-away state (the CLI's default when no --state is given).
 */
export interface BaselineAccount {
  account: string;
  firstSeenMs: number;
  combos: string[];
}

export interface DetectorStateStore {
  readonly path: string;
  loadBaselines(detector: string): BaselineAccount[];
  saveBaselines(detector: string, accounts: ReadonlyArray<{ account: string; firstSeenMs: number }>, combos: ReadonlyArray<{ account: string; combo: string; atMs: number }>): void;
  close(): void;
}

const SCHEMA_VERSION = '1';

export function openDetectorState(path: string): DetectorStateStore {
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (error) {
    throw new AppError('BAD_INPUT', `cannot open detector state ${path} (${errorMessage(error)}): pass a writable file path with --state`);
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS baseline_account (
      detector TEXT NOT NULL, account TEXT NOT NULL, first_seen_ms INTEGER NOT NULL,
      PRIMARY KEY (detector, account)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS baseline_combo (
      detector TEXT NOT NULL, account TEXT NOT NULL, combo TEXT NOT NULL, first_seen_ms INTEGER NOT NULL,
      PRIMARY KEY (detector, account, combo)) WITHOUT ROWID;
  `);
  const version = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get('schema');
  if (version === undefined) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
  else if (version !== SCHEMA_VERSION) {
    db.close();
    throw new AppError('UNSUPPORTED', `detector state ${path} has schema ${String(version)}, this Palisade reads ${SCHEMA_VERSION}: move the file away to start a new baseline`);
  }
  const insertAccount = db.prepare('INSERT OR IGNORE INTO baseline_account (detector, account, first_seen_ms) VALUES (?, ?, ?)');
  const insertCombo = db.prepare('INSERT OR IGNORE INTO baseline_combo (detector, account, combo, first_seen_ms) VALUES (?, ?, ?, ?)');
  const selectAccounts = db.prepare('SELECT account, first_seen_ms AS firstSeenMs FROM baseline_account WHERE detector = ? ORDER BY account');
  const selectCombos = db.prepare('SELECT account, combo FROM baseline_combo WHERE detector = ? ORDER BY account, combo');
  const save = db.transaction(
    (detector: string, accounts: ReadonlyArray<{ account: string; firstSeenMs: number }>, combos: ReadonlyArray<{ account: string; combo: string; atMs: number }>) => {
      for (const a of accounts) insertAccount.run(detector, a.account, a.firstSeenMs);
      for (const c of combos) insertCombo.run(detector, c.account, c.combo, c.atMs);
    },
  );
  return {
    path,
    loadBaselines(detector) {
      const byAccount = new Map<string, BaselineAccount>();
      for (const row of selectAccounts.all(detector)) {
        if (typeof row !== 'object' || row === null || !('account' in row) || !('firstSeenMs' in row)) continue;
        const { account, firstSeenMs } = row;
        if (typeof account !== 'string' || typeof firstSeenMs !== 'number') continue;
        byAccount.set(account, { account, firstSeenMs, combos: [] });
      }
      for (const row of selectCombos.all(detector)) {
        if (typeof row !== 'object' || row === null || !('account' in row) || !('combo' in row)) continue;
        const { account, combo } = row;
        if (typeof account !== 'string' || typeof combo !== 'string') continue;
        byAccount.get(account)?.combos.push(combo);
      }
      return [...byAccount.values()];
    },
    saveBaselines(detector, accounts, combos) {
      if (accounts.length > 0 || combos.length > 0) save(detector, accounts, combos);
    },
    close: () => db.close(),
  };
}
