/**
 * Prometheus text exposition (format 0.0.4), written by hand: counters and histograms the server
 * updates as it works, gauges read when /metrics is scraped.
 */
type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

export interface Metrics {
  inc(name: string, labels?: Labels, by?: number): void;
  observe(name: string, seconds: number, labels?: Labels): void;
  /** Renders counters and histograms plus the gauges given (name → help, samples). */
  render(gauges: { name: string; help: string; samples: { labels: Labels; value: number }[] }[]): string;
}

export function createMetrics(help: Record<string, string>): Metrics {
  const counters = new Map<string, Map<string, { labels: Labels; value: number }>>();
  const histograms = new Map<string, Map<string, { labels: Labels; h: Histogram }>>();
  return {
    inc(name, labels = {}, by = 1) {
      let series = counters.get(name);
      if (!series) counters.set(name, (series = new Map()));
      const key = labelText(labels);
      const entry = series.get(key) ?? { labels, value: 0 };
      entry.value += by;
      series.set(key, entry);
    },
    observe(name, seconds, labels = {}) {
      let series = histograms.get(name);
      if (!series) histograms.set(name, (series = new Map()));
      const key = labelText(labels);
      const entry = series.get(key) ?? { labels, h: { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 } };
      DURATION_BUCKETS.forEach((le, i) => {
        if (seconds <= le) entry.h.buckets[i] = (entry.h.buckets[i] ?? 0) + 1;
      });
      entry.h.sum += seconds;
      entry.h.count++;
      series.set(key, entry);
    },
    render(gauges) {
      const lines: string[] = [];
      for (const [name, series] of [...counters].sort(([a], [b]) => a.localeCompare(b))) {
        lines.push(`# HELP ${name} ${help[name] ?? name}`, `# TYPE ${name} counter`);
        for (const { labels, value } of series.values()) lines.push(`${name}${labelText(labels)} ${value}`);
      }
      for (const [name, series] of [...histograms].sort(([a], [b]) => a.localeCompare(b))) {
        lines.push(`# HELP ${name} ${help[name] ?? name}`, `# TYPE ${name} histogram`);
        for (const { labels, h } of series.values()) {
          DURATION_BUCKETS.forEach((le, i) => lines.push(`${name}_bucket${labelText({ ...labels, le: String(le) })} ${h.buckets[i] ?? 0}`));
          lines.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${h.count}`);
          lines.push(`${name}_sum${labelText(labels)} ${h.sum}`, `${name}_count${labelText(labels)} ${h.count}`);
        }
      }
      for (const gauge of gauges) {
        lines.push(`# HELP ${gauge.name} ${gauge.help}`, `# TYPE ${gauge.name} gauge`);
        for (const s of gauge.samples) lines.push(`${gauge.name}${labelText(s.labels)} ${s.value}`);
      }
      return lines.join('\n') + '\n';
    },
  };
}

export const METRIC_HELP: Record<string, string> = {
  palisade_scans_total: 'Scan jobs finished, by kind (pull: image read from the registry; rematch: stored package list matched again) and outcome',
  palisade_scan_duration_seconds: 'Duration of scan jobs',
  palisade_notifications_total: 'Registry notification events received, by action and outcome',
  palisade_http_requests_total: 'HTTP requests answered, by route and status class',
  palisade_events_total: 'Finding events emitted',
  palisade_event_deliveries_total: 'Finding event deliveries, by sink (webhook batches, jsonl appends) and outcome (delivered, written, failed after retries, dropped from a full queue)',
  palisade_event_webhook_retries_total: 'Event webhook attempts after the first of a batch (network errors, 429, 5xx)',
  palisade_audit_batches_total: 'Audit webhook batches, by outcome (stored; busy: refused with 429)',
  palisade_audit_batch_duration_seconds: 'Time to analyse and store one audit webhook batch',
  palisade_audit_events_total: 'Audit events decoded from webhook batches',
  palisade_audit_skipped_total: 'Audit records or events skipped, by reason',
  palisade_alerts_stored_total: 'Alerts stored (new or joined to a stored alert), by source',
  palisade_sensor_batches_total: 'Sensor alert batches, by outcome (stored; duplicate: Idempotency-Key seen before)',
  palisade_sensor_alerts_rejected_total: 'Sensor alerts skipped because they do not have the alert shape',
  palisade_admission_batches_total: 'Admission webhook record batches, by outcome (stored; duplicate: Idempotency-Key seen before)',
  palisade_admission_records_rejected_total: 'Admission webhook records skipped because they do not have the record shape',
};
