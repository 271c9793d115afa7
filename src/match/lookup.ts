import type { Package } from '../core/index.js';
import { normalisePypiName } from '../vulndb/sources/osv/ecosystems.js';

/**
 * What a package is looked up as in the advisory DB: the names it is filed under in its namespace and
 * the version compared against the advisory ranges. One function per ecosystem rule, no range logic.
 *
 * - deb (Debian, Ubuntu): advisories are per SOURCE package, and their fixed versions are source
 *   versions, so the source name is looked up and the source version compared when the package
 *   records one (a binNMU binary `1.2-3+b1` has source version `1.2-3`); otherwise the binary version.
 * - apk (Alpine, Wolfi, Chainguard): advisories are per origin package; the origin's version equals
 *   the subpackage's version.
 * - rpm (Red Hat family, Amazon, SUSE …): advisories are per binary package, with the full
 *   `[epoch:]version-release`. A version without an epoch is compared as-is; the rpm scheme treats a
 *   missing epoch as 0. The source rpm name is looked up as well, because the Red Hat CVE data files
 *   unfixed states under the source component name; records found under both names are deduplicated.
 * - Names are normalised exactly as the OSV importer files them (src/vulndb/sources/osv/ecosystems.ts):
 *   pypi PEP 503; nuget and packagist lower case; maven `group:artifact`, npm and the rest as is.
 * - golang: the module path; the Go toolchain (`stdlib`, `go`, `golang.org/toolchain`) is looked up
 *   as `stdlib`. Versions are passed as recorded: the go scheme reads `v1.2.3`, `1.2.3` and `go1.21rc2`.
 */
export interface Lookup {
  names: string[];
  version: string;
}

const GO_TOOLCHAIN_NAMES = new Set(['stdlib', 'go', 'golang.org/toolchain', 'toolchain']);

export function lookupFor(pkg: Package): Lookup {
  switch (pkg.type) {
    case 'deb':
    case 'apk':
      return {
        names: [pkg.source?.name || pkg.name],
        version: pkg.source?.version || pkg.version,
      };
    case 'rpm': {
      const source = pkg.source?.name;
      return { names: source && source !== pkg.name ? [pkg.name, source] : [pkg.name], version: pkg.version };
    }
    case 'pypi':
      return { names: [normalisePypiName(pkg.name)], version: pkg.version };
    case 'nuget':
    case 'composer':
      return { names: [pkg.name.toLowerCase()], version: pkg.version };
    case 'golang':
      return { names: [GO_TOOLCHAIN_NAMES.has(pkg.name) ? 'stdlib' : pkg.name], version: pkg.version };
    default:
      return { names: [pkg.name], version: pkg.version };
  }
}
