import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

describe('Prometheus text', () => {
  it('renders counters, histograms and gauges', () => {
    const metrics = createMetrics({ palisade_scans_total: 'Scans', palisade_scan_duration_seconds: 'Durations' });
    metrics.inc('palisade_scans_total', { kind: 'pull', outcome: 'done' });
    metrics.inc('palisade_scans_total', { outcome: 'done', kind: 'pull' });
    metrics.observe('palisade_scan_duration_seconds', 0.3, { kind: 'pull' });
    const text = metrics.render([{ name: 'palisade_queue_jobs', help: 'Jobs', samples: [{ labels: { state: 'queued' }, value: 3 }] }]);
    expect(text).toBe(
      [
        '# HELP palisade_scans_total Scans',
        '# TYPE palisade_scans_total counter',
        'palisade_scans_total{kind="pull",outcome="done"} 2',
        '# HELP palisade_scan_duration_seconds Durations',
        '# TYPE palisade_scan_duration_seconds histogram',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="0.05"} 0',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="0.1"} 0',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="0.25"} 0',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="0.5"} 1',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="1"} 1',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="2.5"} 1',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="5"} 1',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="10"} 1',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="30"} 1',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="60"} 1',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="120"} 1',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="300"} 1',
        'palisade_scan_duration_seconds_bucket{kind="pull",le="+Inf"} 1',
        'palisade_scan_duration_seconds_sum{kind="pull"} 0.3',
        'palisade_scan_duration_seconds_count{kind="pull"} 1',
        '# HELP palisade_queue_jobs Jobs',
        '# TYPE palisade_queue_jobs gauge',
        'palisade_queue_jobs{state="queued"} 3',
        '',
      ].join('\n'),
    );
  });
});
