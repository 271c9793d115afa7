import type { Distro, Finding, Package } from '../core/types.js';

/**
 * The result of one `palisade scan`, the input of every writer. Documented field by field in
 * ./json-schema.md; the JSON writer prints it as is, so any change here bumps `schemaVersion`.
 */
export interface ScanReport {
  /** Version of this shape. Bumped on any incompatible change of the JSON output. */
  schemaVersion: 1;
  tool: { name: 'palisade'; version: string };
  /** ISO 8601 time of the scan, taken from the injected clock (never from the writers). */
  createdAt: string;
  target: ScanTarget;
  /** The OS of the image (absent for a language-only target), with its end-of-life state when known. */
  distro?: Distro & { eol?: DistroEol };
  /** The advisory DB the findings came from. */
  db?: { builtAt?: string; sources: { id: string; snapshot?: string }[] };
  /** Every package found, vulnerable or not. */
  packages: Package[];
  /** Findings still shown after filters, the ignore file and VEX. */
  findings: Finding[];
  /** Findings hidden by the ignore file or by VEX, with why; never silently dropped. */
  suppressed: Suppression[];
  /** Findings dropped by display filters (--severity, --ignore-unfixed), as counts per filter. */
  filtered?: { filter: 'severity' | 'ignore-unfixed'; count: number }[];
}

export interface ScanTarget {
  kind: 'image' | 'sbom' | 'packages' | 'rootfs';
  /** What the user named: an image reference (`docker.io/library/nginx:1.25`), a file or a directory. */
  reference: string;
  /** Manifest digest of an image (`sha256:…`). */
  digest?: string;
  /** `os/arch[/variant]` of the image chosen from an index, e.g. `linux/amd64`. */
  platform?: string;
  /** Layers in order, bottom first. */
  layers?: { digest: string; size: number }[];
}

export interface DistroEol {
  /** Date (YYYY-MM-DD) the release stops getting security updates. */
  date: string;
  /** Whether that date had passed at `createdAt`. */
  endOfLife: boolean;
  /** Where the date came from (URL or data file). */
  source: string;
}

/** Why a finding was hidden. Discriminated by `by`. */
export type Suppression =
  | {
      by: 'ignore-file';
      finding: Finding;
      /** The ignore entry's reason, as written. */
      reason: string;
      ignore: { id: string; file: string; expires?: string; purl?: string };
    }
  | {
      by: 'vex';
      finding: Finding;
      /** `status: justification — impact statement` in words. */
      reason: string;
      vex: VexDecision;
    };

/** What a VEX statement said about one finding. */
export interface VexDecision {
  status: 'not_affected' | 'fixed';
  /** OpenVEX justification (component_not_present, vulnerable_code_not_present, …) for not_affected. */
  justification?: string;
  impactStatement?: string;
  /** The VEX document (its @id, else its file path) the statement came from. */
  document: string;
}

export const FORMAT_IDS = ['table', 'json', 'sarif', 'cyclonedx', 'spdx'] as const;
export type FormatId = (typeof FORMAT_IDS)[number];

export function isFormatId(value: string): value is FormatId {
  return (FORMAT_IDS as readonly string[]).includes(value);
}

export interface RenderOptions {
  /** ANSI colours (table only); the CLI sets it when stdout is a TTY and NO_COLOR is unset. */
  color: boolean;
  /** Table only: add a table of every package found. */
  listAllPackages: boolean;
}

/** A writer: a pure function from a report to the bytes printed. Same report → same string. */
export interface Formatter {
  id: FormatId;
  /** One line for `--help`. */
  description: string;
  render(report: ScanReport, options: RenderOptions): string;
}
