import { z } from 'zod';

/**
 * zod schemas of what the registry side answers: token responses, docker config.json and credential
 * helper output. Loaded when one of those is read (a scan that needs no token loads no zod).
 */

export const tokenSchema = z.union([
  z.object({ token: z.string().min(1) }).passthrough(),
  z.object({ access_token: z.string().min(1) }).passthrough(),
]);

export const dockerConfigSchema = z.object({
  auths: z.record(z.string(), z.object({ auth: z.string().optional(), username: z.string().optional(), password: z.string().optional(), identitytoken: z.string().optional() })).optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
});

export const helperOutputSchema = z.object({ ServerURL: z.string().optional(), Username: z.string(), Secret: z.string() });
