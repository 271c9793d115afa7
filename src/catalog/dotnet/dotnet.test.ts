import { describe, expect, it } from 'vitest';
import type { CatalogFile, Cataloger } from '../types.js';
import { parseDepsJson } from './deps-json.js';
import { dotnetDepsCataloger } from './index.js';

function file(path: string, text: string): CatalogFile {
  const bytes = Buffer.from(text, 'utf8');
  return { path, layer: 'sha256:0123', bytes, size: bytes.length, mode: 0o644 };
}

const DEPS_JSON = `{
  "runtimeTarget": { "name": ".NETCoreApp,Version=v6.0", "signature": "" },
  "compilationOptions": {},
  "targets": {
    ".NETCoreApp,Version=v6.0": {
      "WebApp/1.0.0": { "dependencies": { "Newtonsoft.Json": "13.0.1" }, "runtime": { "WebApp.dll": {} } },
      "Newtonsoft.Json/13.0.1": { "runtime": { "lib/netstandard2.0/Newtonsoft.Json.dll": { "assemblyVersion": "13.0.0.0" } } }
    }
  },
  "libraries": {
    "WebApp/1.0.0": { "type": "project", "serviceable": false, "sha512": "" },
    "Newtonsoft.Json/13.0.1": {
      "type": "package",
      "serviceable": true,
      "sha512": "sha512-ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9HmA0+za13IdyrgJwpkDTDA9fHaxOrt20A==",
      "path": "newtonsoft.json/13.0.1",
      "hashPath": "newtonsoft.json.13.0.1.nupkg.sha512"
    },
    "System.Text.Encodings.Web/4.7.2": { "type": "package", "serviceable": true },
    "Broken": { "type": "package" }
  }
}`;

describe('parseDepsJson', () => {
  it('reads package libraries and skips the project', () => {
    const out = parseDepsJson(file('/app/WebApp.deps.json', DEPS_JSON));
    expect(out.packages).toEqual([
      { type: 'nuget', name: 'Newtonsoft.Json', version: '13.0.1', purl: 'pkg:nuget/Newtonsoft.Json@13.0.1', locations: [{ path: '/app/WebApp.deps.json', layer: 'sha256:0123' }] },
      {
        type: 'nuget',
        name: 'System.Text.Encodings.Web',
        version: '4.7.2',
        purl: 'pkg:nuget/System.Text.Encodings.Web@4.7.2',
        locations: [{ path: '/app/WebApp.deps.json', layer: 'sha256:0123' }],
      },
    ]);
    expect(out.skipped).toBe(1);
  });

  it('rejects a deps.json whose libraries is not an object', () => {
    expect(() => parseDepsJson(file('/app/x.deps.json', '{"libraries":[]}'))).toThrow('is not a .NET deps.json');
  });

  it.each([
    ['/app/WebApp.deps.json', true],
    ['/usr/share/dotnet/shared/Microsoft.NETCore.App/6.0.16/Microsoft.NETCore.App.deps.json', true],
    ['/app/WebApp.runtimeconfig.json', false],
  ])('matches %s → %s', (path, expected) => {
    const cataloger: Cataloger = dotnetDepsCataloger;
    expect(cataloger.matches(path, { size: 10, mode: 0o644 })).toBe(expected);
  });
});
