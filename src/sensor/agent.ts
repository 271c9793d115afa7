import type { Readable } from 'node:stream';
import { errorMessage, type Clock, type Logger } from '../core/index.js';
import { createAlertGrouper, type Alert, type AlertGrouper, type Suppression } from '../threat/alert.js';
import type { RuntimeAnalyzer, RuntimeEvent } from '../threat/runtime/index.js';
import type { Collector, CollectorCounters } from './collector.js';
import { normaliseFalco, type NormaliseResult } from './falco.js';
import { forEachLine } from './lines.js';
import { readStat } from './procfs.js';
import type { Shipper, ShipperCounters } from './ship.js';
import { normaliseTetragon } from './tetragon.js';

/**
 * The node agent: events from the /proc collector and from Falco/Tetragon streams go through the
 * runtime analyzer; candidates are grouped (repeats of one rule by one executable in one
 * container within `groupWindowMs` become one alert with a count) and handed to `onAlert` and the
 * shipper. Everything that is skipped is counted by reason.
 */
export interface SensorOptions {
  node: string;
  clock: Clock;
  log: Logger;
  analyzer: RuntimeAnalyzer;
  collector?: Collector;
  shipper?: Shipper;
  /** How long an alert waits for repeats before it is emitted. Default 250 ms (latency vs. volume). */
  groupWindowMs?: number;
  suppressions?: readonly Suppression[];
  onAlert?: (alert: Alert) => void;
  onEvent?: (event: RuntimeEvent) => void;
  procRoot?: string;
  /** Longest Falco/Tetragon line accepted. Default 1 MiB. */
  maxLineBytes?: number;
}

export type InputKind = 'falco' | 'tetragon';

export interface SensorCounters {
  events: number;
  alerts: number;
  inputLines: Record<InputKind, number>;
  /** Input lines skipped, by reason. */
  skipped: Record<string, number>;
  collector?: CollectorCounters;
  shipper?: ShipperCounters;
  grouper: ReturnType<AlertGrouper['stats']>;
}

export interface Sensor {
  /** One poll of /proc, analysis, grouping and a shipping attempt. */
  tick(): Promise<void>;
  handle(event: RuntimeEvent): void;
  ingest(stream: Readable, kind: InputKind): Promise<void>;
  /** Emits open groups and seals the pending batch. */
  flush(): void;
  counters(): SensorCounters;
}

export function createSensor(options: SensorOptions): Sensor {
  const procRoot = options.procRoot ?? '/proc';
  const maxLine = options.maxLineBytes ?? 1024 * 1024;
  let alerts = 0;
  let events = 0;
  const inputLines: Record<InputKind, number> = { falco: 0, tetragon: 0 };
  const skipped: Record<string, number> = {};
  const skip = (reason: string): void => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };
  const grouper = createAlertGrouper({
    windowMs: options.groupWindowMs ?? 250,
    suppressions: options.suppressions,
    emit: (alert) => {
      alerts += 1;
      options.onAlert?.(alert);
      options.shipper?.enqueue([alert]);
    },
  });

  function handle(event: RuntimeEvent): void {
    events += 1;
    if (event.kind === 'signal' && event.target.name === '') {
      const stat = readStat(procRoot, event.target.pid);
      if (stat !== undefined) event.target.name = stat.comm;
    }
    options.onEvent?.(event);
    let candidates;
    try {
      candidates = options.analyzer.analyze(event);
    } catch (error) {
      skip('analysis failed');
      options.log.warn({ problem: errorMessage(error), kind: event.kind }, 'runtime event analysis failed');
      return;
    }
    for (const c of candidates) grouper.add(c);
  }

  return {
    handle,
    async tick() {
      if (options.collector) {
        for (const event of options.collector.tick()) handle(event);
      }
      grouper.closeUntil(options.clock.now().getTime());
      if (options.shipper) await options.shipper.pump();
    },
    async ingest(stream, kind) {
      const normalise: (value: unknown, node: string) => NormaliseResult = kind === 'falco' ? normaliseFalco : normaliseTetragon;
      await forEachLine(
        stream,
        maxLine,
        (line) => {
          if (line.trim() === '') return;
          inputLines[kind] += 1;
          let value: unknown;
          try {
            value = JSON.parse(line);
          } catch {
            skip(`${kind}: not JSON`);
            return;
          }
          const result = normalise(value, options.node);
          if (!result.ok) {
            skip(result.reason);
            return;
          }
          handle(result.event);
        },
        () => skip(`${kind}: line over ${maxLine} bytes`),
      );
    },
    flush() {
      grouper.flush();
      options.shipper?.seal();
    },
    counters() {
      const out: SensorCounters = { events, alerts, inputLines: { ...inputLines }, skipped: { ...skipped }, grouper: grouper.stats() };
      if (options.collector) out.collector = options.collector.counters();
      if (options.shipper) out.shipper = options.shipper.counters();
      return out;
    },
  };
}
