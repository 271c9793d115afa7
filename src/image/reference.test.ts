import { describe, expect, it } from 'vitest';
import { AppError } from '../core/index.js';
import { formatImageReference, parseImageReference, parseImageSource } from './reference.js';

const D = 'sha256:ddb22e1f457197b1c4eb21fa236fac7ec289f0f3b6d219a58747801af45efebf';

describe('parseImageReference', () => {
  it.each([
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.19', 'docker.io/library/alpine:3.19'],
    ['library/alpine:3.19', 'docker.io/library/alpine:3.19'],
    ['docker.io/alpine', 'docker.io/library/alpine:latest'],
    ['index.docker.io/library/nginx:1.25-alpine', 'docker.io/library/nginx:1.25-alpine'],
    ['bitnami/redis:7.2.4-debian-12-r9', 'docker.io/bitnami/redis:7.2.4-debian-12-r9'],
    ['ghcr.io/aquasecurity/trivy:0.50.1', 'ghcr.io/aquasecurity/trivy:0.50.1'],
    ['localhost:5000/apps/mixed:1.0', 'localhost:5000/apps/mixed:1.0'],
    ['localhost/app', 'localhost/app:latest'],
    ['registry.example.com:5000/team/sub/app', 'registry.example.com:5000/team/sub/app:latest'],
    ['127.0.0.1:5000/apps/mixed:1.0', '127.0.0.1:5000/apps/mixed:1.0'],
    [`alpine@${D}`, `docker.io/library/alpine@${D}`],
    [`gcr.io/distroless/static-debian12:nonroot@${D}`, `gcr.io/distroless/static-debian12:nonroot@${D}`],
    ['quay.io/prometheus/node-exporter:v1.7.0', 'quay.io/prometheus/node-exporter:v1.7.0'],
    ['mcr.microsoft.com/dotnet/aspnet:8.0-jammy-chiseled', 'mcr.microsoft.com/dotnet/aspnet:8.0-jammy-chiseled'],
    ['my_org/my__app', 'docker.io/my_org/my__app:latest'],
  ])('%s → %s', (input, expected) => {
    expect(formatImageReference(parseImageReference(input))).toBe(expected);
  });

  it('splits the parts', () => {
    expect(parseImageReference(`host:5000/ns/repo:tag@${D}`)).toEqual({ registry: 'host:5000', repository: 'ns/repo', tag: 'tag', digest: D });
    expect(parseImageReference(`repo@${D}`)).toEqual({ registry: 'docker.io', repository: 'library/repo', digest: D });
  });

  it.each([
    ['', /it is empty/],
    ['Alpine', /must be lower case/],
    ['alpine:', /"" is not a valid tag/],
    ['alpine:-bad', /is not a valid tag/],
    ['alpine@sha256:abc', /is not a digest/],
    [`alpine@sha256:${'A'.repeat(64)}`, /64 lower-case hex/],
    ['ghcr.io/', /repository name is missing/],
    ['a//b', /is not a valid path component/],
    ['ns/-repo', /is not a valid path component/],
  ])('rejects %j', (input, message) => {
    expect(() => parseImageReference(input)).toThrow(AppError);
    expect(() => parseImageReference(input)).toThrow(message);
  });
});

describe('parseImageSource', () => {
  it.each([
    ['alpine:3.19', { kind: 'registry', ref: { registry: 'docker.io', repository: 'library/alpine', tag: '3.19' } }],
    ['registry:ghcr.io/o/a:1', { kind: 'registry', ref: { registry: 'ghcr.io', repository: 'o/a', tag: '1' } }],
    ['docker://quay.io/o/a', { kind: 'registry', ref: { registry: 'quay.io', repository: 'o/a', tag: 'latest' } }],
    ['oci-archive:./mixed-app.oci.tar', { kind: 'oci-archive', path: './mixed-app.oci.tar' }],
    ['oci-archive:/images/app.tar:1.0', { kind: 'oci-archive', path: '/images/app.tar', tag: '1.0' }],
    ['oci-layout:/var/lib/layout', { kind: 'oci-layout', path: '/var/lib/layout' }],
    ['oci-layout:/var/lib/layout:v2', { kind: 'oci-layout', path: '/var/lib/layout', tag: 'v2' }],
    ['oci:layout:1.0', { kind: 'oci-layout', path: 'layout', tag: '1.0' }],
    ['docker-archive:/tmp/app.tar', { kind: 'docker-archive', path: '/tmp/app.tar' }],
    ['docker-archive:/tmp/app.tar:apps/mixed:1.0', { kind: 'docker-archive', path: '/tmp/app.tar', tag: 'apps/mixed:1.0' }],
    ['dir:/srv/rootfs', { kind: 'dir', path: '/srv/rootfs' }],
  ])('%s', (input, expected) => {
    expect(parseImageSource(input)).toEqual(expected);
  });

  it('names what is missing after a prefix', () => {
    expect(() => parseImageSource('oci-archive:')).toThrow(/names no path or reference after "oci-archive:"/);
  });
});
