import { describe, expect, it } from 'vitest';
import { admissionReviewSchema, quickAdmissionRequest } from './admission.js';

const request = {
  uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
  kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
  resource: { group: 'apps', version: 'v1', resource: 'deployments' },
  requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
  name: 'checkout',
  namespace: 'shop',
  operation: 'UPDATE',
  userInfo: { username: 'admin', uid: '014fbff9a07c', groups: ['system:authenticated', 'my-admin-group'] },
  object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'checkout' } },
  oldObject: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'checkout' } },
  dryRun: false,
  options: { apiVersion: 'meta.k8s.io/v1', kind: 'UpdateOptions' },
};
const review = (over: Record<string, unknown>, top: Record<string, unknown> = {}): unknown => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request, ...over }, ...top });

describe('quickAdmissionRequest (the hot-path envelope check)', () => {
  it.each([
    ['a full UPDATE review', review({})],
    ['no userInfo (defaulted)', review({ userInfo: undefined })],
    ['a kind with extra keys (stripped as zod strips them)', review({ kind: { group: '', version: 'v1', kind: 'Pod', extra: 1 } })],
    ['a DELETE with a null object', review({ operation: 'DELETE', object: null })],
    ['a subresource', review({ subResource: 'status' })],
  ])('builds the same request as the schema for %s', (_name, body) => {
    const parsed = admissionReviewSchema.parse(body);
    expect(quickAdmissionRequest(body)).toEqual(parsed.request);
  });

  it.each([
    ['another apiVersion', review({}, { apiVersion: 'admission.k8s.io/v1beta1' })],
    ['no uid', review({ uid: '' })],
    ['an unknown operation', review({ operation: 'PATCH' })],
    ['an empty kind', review({ kind: { group: '', version: 'v1', kind: '' } })],
    ['a resource without its name', review({ resource: { group: '', version: 'v1' } })],
    ['an array object', review({ object: [1, 2] })],
    ['a string dryRun', review({ dryRun: 'true' })],
    ['a numeric group in userInfo', review({ userInfo: { username: 'admin', groups: ['ok', 7] } })],
    ['a numeric namespace', review({ namespace: 7 })],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }],
  ])('leaves %s to the schema, which refuses it too', (_name, body) => {
    expect(quickAdmissionRequest(body)).toBeUndefined();
    expect(admissionReviewSchema.safeParse(body).success).toBe(false);
  });
});
