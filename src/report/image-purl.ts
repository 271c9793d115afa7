import { PackageURL } from 'packageurl-js';
import { parseImageName } from './order.js';
import type { ScanReport } from './types.js';

/** purl of an image target (`pkg:oci/nginx@sha256%3A…?repository_url=docker.io/library/nginx&tag=1.25`), when it has a digest. */
export function imagePurl(report: ScanReport): string | undefined {
  if (report.target.kind !== 'image') return undefined;
  const image = parseImageName(report.target.reference, report.target.digest);
  if (!image.digest) return undefined;
  const name = (image.repository.split('/').pop() ?? image.repository).toLowerCase();
  const qualifiers: Record<string, string> = { repository_url: image.repository };
  if (image.tag) qualifiers.tag = image.tag;
  if (report.target.platform) qualifiers.arch = report.target.platform.split('/')[1] ?? report.target.platform;
  return new PackageURL('oci', undefined, name, image.digest, qualifiers, undefined).toString();
}
