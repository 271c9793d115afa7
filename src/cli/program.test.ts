import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { createCliContext } from './context.js';
import { COMMAND_GROUPS } from './program.js';

describe('COMMAND_GROUPS', () => {
  it('names every top-level command its module registers, and nothing else', async () => {
    const ctx = createCliContext({});
    const seen = new Map<string, string>();
    for (const [name, load] of Object.entries(COMMAND_GROUPS)) {
      const program = new Command('palisade');
      (await load())(program, ctx);
      const registered = program.commands.map((c) => c.name());
      expect(registered, `module of "${name}"`).toContain(name);
      for (const command of registered) seen.set(command, name);
    }
    expect([...seen.keys()].sort()).toEqual(Object.keys(COMMAND_GROUPS).sort());
  });
});
